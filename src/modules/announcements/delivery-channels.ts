import type { Config } from '../../config/config.js';
import { nowIso } from '../../lib/time.js';
import { type AttemptOutcome, RESPONSE_EXCERPT_CHARS } from '../../notify/attempt-outcome.js';
import { createMailer, type Mailer, MailError, type MailMessage } from '../../notify/mailer.js';
import { webhookIdOf } from '../../notify/webhook-signature.js';
import { DeliveryChannel, type Trigger } from '../triggers/trigger.entity.js';
import type { WebhookSecrets } from '../triggers/webhook-secrets.js';
import type { DeviceEventMessage, TripExportFinishedMessage } from './announcement-topics.js';
import { deviceEventEnvelope, deviceEventMail, deviceEventTemplateContext } from './device-event-render.js';
import { announce } from './rendered-announcement.js';
import { tripExportMail } from './trip-export-mail.js';
import { renderWebhookBody, sendWebhook, webhookBody, type WebhookTrigger } from './webhook-sender.js';

/** One announcement as each channel renders it. */
interface Rendering {
  readonly webhookBody: (trigger: WebhookTrigger) => string;
  readonly mail: (to: readonly string[], messageId: string) => MailMessage;
}

/** Sends one announcement through one action of a trigger; never throws. */
export class DeliveryChannels {
  private readonly mailer: Mailer | undefined;

  constructor(
    private readonly config: Config,
    private readonly secrets: WebhookSecrets,
  ) {
    this.mailer = config.smtpUrl ? createMailer(config.smtpUrl, config.mailFrom, config.webhookTimeoutMs) : undefined;
  }

  deliver(channel: DeliveryChannel, trigger: Trigger, message: TripExportFinishedMessage, deliveryId: string): Promise<AttemptOutcome> {
    const announcement = announce(this.config, message);
    return this.send(channel, trigger, deliveryId, {
      webhookBody: (t) => webhookBody(t, announcement),
      mail: (to, messageId) => tripExportMail(announcement, to, messageId),
    });
  }

  deliverDeviceEvent(channel: DeliveryChannel, trigger: Trigger, message: DeviceEventMessage, deliveryId: string): Promise<AttemptOutcome> {
    return this.send(channel, trigger, deliveryId, {
      webhookBody: (t) =>
        renderWebhookBody(
          t,
          () => deviceEventTemplateContext(message, t),
          () => deviceEventEnvelope(message),
        ),
      mail: (to, messageId) => deviceEventMail(message, trigger, to, messageId),
    });
  }

  private async send(channel: DeliveryChannel, trigger: Trigger, deliveryId: string, rendering: Rendering): Promise<AttemptOutcome> {
    if (channel === DeliveryChannel.WEBHOOK) {
      let secrets: string[];
      let headers: Record<string, string>;
      try {
        secrets = this.secrets.signingSecrets(trigger);
      } catch {
        return { startedAt: nowIso(), durationMs: 0, succeeded: false, permanent: true, error: 'the signing secret cannot be read (was JWT_SECRET changed?); rotate it' };
      }
      try {
        headers = this.secrets.headerValues(trigger);
      } catch {
        return { startedAt: nowIso(), durationMs: 0, succeeded: false, permanent: true, error: 'the extra header values cannot be read (was JWT_SECRET changed?); set them again' };
      }
      const policy = { allowPrivateNetworks: this.config.webhookAllowPrivateNetworks, timeoutMs: this.config.webhookTimeoutMs };
      return sendWebhook(trigger, rendering.webhookBody, webhookIdOf(deliveryId), secrets, policy, headers);
    }
    return this.mail(trigger, rendering.mail(trigger.emailRecipients, `<${deliveryId}@${this.mailDomain()}>`));
  }

  close(): void {
    this.mailer?.close();
  }

  private async mail(trigger: Trigger, message: MailMessage): Promise<AttemptOutcome> {
    const startedAt = nowIso();
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    if (!this.mailer) return { startedAt, durationMs: 0, succeeded: false, permanent: true, error: 'e-mail is not configured (SMTP_URL is unset)' };
    if (trigger.emailRecipients.length === 0) return { startedAt, durationMs: 0, succeeded: false, permanent: true, error: 'the trigger has no e-mail recipients' };
    try {
      const receipt = await this.mailer.send(message);
      const code = Number(/^\d{3}/.exec(receipt.response)?.[0]);
      return { startedAt, durationMs: elapsed(), succeeded: true, statusCode: Number.isFinite(code) ? code : null, response: receipt.response.slice(0, RESPONSE_EXCERPT_CHARS) };
    } catch (error) {
      const code = error instanceof MailError ? error.code : undefined;
      return { startedAt, durationMs: elapsed(), succeeded: false, statusCode: code ?? null, error: (error as Error).message };
    }
  }

  private mailDomain(): string {
    return new URL(this.config.publicUrl).hostname || 'trip-export.local';
  }
}
