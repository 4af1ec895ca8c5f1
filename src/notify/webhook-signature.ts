import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** The Standard Webhooks message id of a delivery: the same on every retry. */
export const webhookIdOf = (deliveryId: string): string => `msg_${deliveryId}`;

/** A Standard Webhooks signing secret: `whsec_` and the base64 of 32 random bytes. */
export const newWebhookSecret = (): string => `${PREFIX}${randomBytes(32).toString('base64')}`;

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('webhook secrets start with whsec_');
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

/**
 * The `webhook-signature` header: one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per
 * secret, space-separated, so a receiver that still has the old secret during a rotation
 * accepts the message as well as one that already has the new one.
 */
export function signWebhook(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  const content = `${id}.${timestampSeconds}.${body}`;
  return secrets.map((secret) => `v1,${createHmac('sha256', keyOf(secret)).update(content).digest('base64')}`).join(' ');
}
