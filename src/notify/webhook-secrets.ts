import type { Trigger } from '../modules/triggers/trigger.entity.js';
import { SecretBox } from './secret-box.js';
import { newWebhookSecret } from './webhook-signature.js';

/**
 * Webhook signing secrets are needed in clear to sign, so they are stored sealed (AES-256-GCM,
 * key derived from JWT_SECRET) rather than hashed, and shown to the customer only once.
 */
export class WebhookSecrets {
  private readonly box: SecretBox;

  constructor(jwtSecret: string) {
    this.box = new SecretBox(jwtSecret, 'webhook-signing-secret-v1');
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
