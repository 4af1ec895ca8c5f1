import { SecretBox } from '../../notify/secret-box.js';
import { newWebhookSecret } from '../../notify/webhook-signature.js';
import type { Trigger } from './trigger.entity.js';

type HeaderColumns = Pick<Trigger, 'webhookHeaderMasks' | 'webhookHeadersSealed'>;

/** What the API shows of a header value: at most its last four characters, and only of a long one. */
const maskHeaderValue = (value: string): string => (value.length >= 16 ? `****${value.slice(-4)}` : '****');

/**
 * Webhook signing secrets are needed in clear to sign, so they are stored sealed (AES-256-GCM,
 * key derived from JWT_SECRET) rather than hashed, and shown to the customer only once. The
 * values of a trigger's extra headers, where receivers' API keys go, are sealed the same way
 * (with a key of their own) and shown masked.
 */
export class WebhookSecrets {
  private readonly box: SecretBox;
  private readonly headerBox: SecretBox;

  constructor(jwtSecret: string) {
    this.box = new SecretBox(jwtSecret, 'webhook-signing-secret-v1');
    this.headerBox = new SecretBox(jwtSecret, 'webhook-header-values-v1');
  }

  /** The columns that store `headers`: sealed values and what the API shows. */
  sealHeaders(headers: Readonly<Record<string, string>>): Required<HeaderColumns> {
    const entries = Object.entries(headers);
    return {
      webhookHeadersSealed: entries.length ? this.headerBox.seal(JSON.stringify(headers)) : null,
      webhookHeaderMasks: Object.fromEntries(entries.map(([name, value]) => [name, maskHeaderValue(value)])),
    };
  }

  /** The header values to send; throws when they were sealed under another JWT_SECRET. */
  headerValues(trigger: HeaderColumns): Record<string, string> {
    // Not sealed yet (written by an earlier version): the column holds the values themselves.
    if (!trigger.webhookHeadersSealed) return { ...trigger.webhookHeaderMasks };
    return JSON.parse(this.headerBox.open(trigger.webhookHeadersSealed)) as Record<string, string>;
  }

  /** A fresh secret, in clear (to show once) and sealed (to store). */
  create(): { secret: string; sealed: string } {
    const secret = newWebhookSecret();
    return { secret, sealed: this.box.seal(secret) };
  }

  /** The secrets that sign right now: the current one, and the previous one during a rotation. */
  signingSecrets(trigger: Pick<Trigger, 'webhookSecretSealed' | 'previousWebhookSecretSealed' | 'previousSecretExpiresAt'>, now: number = Date.now()): string[] {
    const secrets = [this.box.open(trigger.webhookSecretSealed)];
    const previous = trigger.previousWebhookSecretSealed;
    if (previous && trigger.previousSecretExpiresAt && Date.parse(trigger.previousSecretExpiresAt) > now) secrets.push(this.box.open(previous));
    return secrets;
  }
}
