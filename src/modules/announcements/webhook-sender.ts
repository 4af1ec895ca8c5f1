import { nowIso } from '../../lib/time.js';
import { type AttemptOutcome, RESPONSE_EXCERPT_CHARS } from '../../notify/attempt-outcome.js';
import { renderBodyTemplate, type TemplateContext } from '../../notify/body-template.js';
import { type OutboundPolicy, postOutbound } from '../../notify/safe-http.js';
import { signWebhook } from '../../notify/webhook-signature.js';
import type { Trigger } from '../triggers/trigger.entity.js';
import { type Announcement, templateContext, webhookEnvelope } from './rendered-announcement.js';

const USER_AGENT = 'trip-export-webhooks/1';

export type WebhookTrigger = Pick<Trigger, 'id' | 'description' | 'webhookUrl' | 'webhookBodyTemplate'>;

/** The exact body a trigger sends: its template over `context`, or the standard `envelope`. */
export function renderWebhookBody(trigger: WebhookTrigger, context: () => TemplateContext, envelope: () => Record<string, unknown>): string {
  return trigger.webhookBodyTemplate ? renderBodyTemplate(trigger.webhookBodyTemplate, context()) : JSON.stringify(envelope());
}

/** The exact body a trigger sends for an export announcement. */
export const webhookBody = (trigger: WebhookTrigger, announcement: Announcement): string =>
  renderWebhookBody(
    trigger,
    () => templateContext(announcement, trigger),
    () => webhookEnvelope(announcement),
  );

/**
 * One Standard Webhooks POST of the body `render` makes for the trigger. `webhookId` stays the same on every retry of a delivery so the
 * receiver can drop duplicates; the timestamp and signature are made fresh each time.
 */
export async function sendWebhook(
  trigger: WebhookTrigger,
  render: (trigger: WebhookTrigger) => string,
  webhookId: string,
  secrets: readonly string[],
  policy: OutboundPolicy,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<AttemptOutcome> {
  const startedAt = nowIso();
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  if (!trigger.webhookUrl) return { startedAt, durationMs: 0, succeeded: false, permanent: true, error: 'the trigger has no webhook URL' };
  let body: string;
  try {
    body = render(trigger);
  } catch (error) {
    return { startedAt, durationMs: elapsed(), succeeded: false, permanent: true, error: (error as Error).message };
  }
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    ...extraHeaders,
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secrets, webhookId, timestamp, body),
  };
  try {
    const response = await postOutbound(trigger.webhookUrl, headers, body, policy);
    const status = response.status;
    const excerpt = response.body.slice(0, RESPONSE_EXCERPT_CHARS) || null;
    const base = { startedAt, durationMs: elapsed(), statusCode: status, response: excerpt };
    if (status >= 200 && status < 300) return { ...base, succeeded: true };
    if (status === 410) return { ...base, succeeded: false, gone: true, error: 'the receiver answered 410 Gone; the trigger has been disabled' };
    if (status >= 300 && status < 400) {
      const location = response.headers.location;
      return { ...base, succeeded: false, error: `redirect ${status} not followed${location ? ` (Location: ${location})` : ''}; only 2xx counts as delivered` };
    }
    return { ...base, succeeded: false, error: `the receiver answered HTTP ${status}` };
  } catch (error) {
    return { startedAt, durationMs: elapsed(), succeeded: false, error: (error as Error).message };
  }
}
