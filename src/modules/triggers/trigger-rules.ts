import { isIP } from 'node:net';

import type { Config } from '../../config/config.js';
import { invalidInput } from '../../lib/errors.js';
import { classifyAddress } from '../../notify/address-policy.js';
import { templateProblems } from '../../notify/body-template.js';
import { TriggerType } from './trigger.entity.js';
import type { TriggerDeliveries } from './trigger-deliveries.js';

/** Signals a SIGNAL trigger can listen to. */
export const KNOWN_SIGNALS: readonly string[] = ['trip_export_finished'];

/** What callers may set; absent fields keep their value, `null` clears an optional one. */
export interface TriggerDraft {
  readonly description?: string;
  readonly enabled?: boolean;
  readonly type?: TriggerType;
  readonly signal?: string | null;
  readonly eventTag?: string | null;
  readonly deviceId?: string | null;
  readonly minIntervalSeconds?: number;
  readonly email?: { readonly recipients: readonly string[] } | null;
  readonly webhook?: {
    readonly url: string;
    readonly headers?: Readonly<Record<string, string>> | null;
    readonly bodyTemplate?: string | null;
  } | null;
}

/** The stored, validated shape of a trigger's settings. */
export interface TriggerFields {
  description: string;
  enabled: boolean;
  type: TriggerType;
  signal: string | null;
  eventTag: string | null;
  deviceId: string | null;
  minIntervalSeconds: number;
  emailRecipients: string[];
  webhookUrl: string | null;
  webhookHeaders: Record<string, string>;
  webhookBodyTemplate: string | null;
}

const EMAIL_RE = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const EVENT_TAG_RE = /^[A-Za-z0-9_.\-/*]{1,200}$/;
/** Headers the signature, the transport or the body depend on; a trigger cannot override them. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'proxy-authorization',
  'proxy-connection',
]);
const MAX_RECIPIENTS = 20;
const MAX_HEADERS = 20;
const MAX_INTERVAL_SECONDS = 30 * 86400;

function webhookUrlProblems(raw: string, allowPrivateNetworks: boolean): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [`webhook url "${raw}" is not a URL`];
  }
  const problems: string[] = [];
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('webhook url must use http or https');
  if (url.username || url.password) problems.push('webhook url must not contain credentials; use a header');
  if (raw.length > 2000) problems.push('webhook url must be at most 2000 characters');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // Only what is knowable now; names are checked against what they resolve to at send time.
  if (!allowPrivateNetworks && ((isIP(host) && classifyAddress(host) !== 'public') || host === 'localhost' || host.endsWith('.localhost'))) {
    problems.push(`webhook url points to a non-public address (${host})`);
  }
  return problems;
}

function headerProblems(headers: Readonly<Record<string, string>>): string[] {
  const entries = Object.entries(headers);
  const problems = entries.length > MAX_HEADERS ? [`at most ${MAX_HEADERS} extra headers`] : [];
  for (const [name, value] of entries) {
    if (!HEADER_NAME_RE.test(name)) problems.push(`"${name}" is not a valid header name`);
    else if (RESERVED_HEADERS.has(name.toLowerCase())) problems.push(`header "${name}" is set by the service and cannot be overridden`);
    if (typeof value !== 'string' || /[\r\n\0]/.test(value) || value.length > 4096) problems.push(`header "${name}" must be a single line of at most 4096 characters`);
  }
  return problems;
}

/**
 * Applies `draft` over `current` and checks the result as a whole; throws INVALID_INPUT
 * naming every problem. Nothing about other rows (the device's owner) is checked here.
 */
export function applyTriggerDraft(current: TriggerFields, draft: TriggerDraft, config: Config, deliveries: Pick<TriggerDeliveries, 'templateProblems'>): TriggerFields {
  const next: TriggerFields = { ...current, webhookHeaders: { ...current.webhookHeaders }, emailRecipients: [...current.emailRecipients] };
  if (draft.description !== undefined) next.description = draft.description.trim();
  if (draft.enabled !== undefined) next.enabled = draft.enabled;
  if (draft.type !== undefined) next.type = draft.type;
  if (draft.signal !== undefined) next.signal = draft.signal?.trim() || null;
  if (draft.eventTag !== undefined) next.eventTag = draft.eventTag?.trim() || null;
  if (draft.deviceId !== undefined) next.deviceId = draft.deviceId;
  if (draft.minIntervalSeconds !== undefined) next.minIntervalSeconds = draft.minIntervalSeconds;
  if (draft.email !== undefined) next.emailRecipients = [...new Set((draft.email?.recipients ?? []).map((r) => r.trim().toLowerCase()))];
  if (draft.webhook !== undefined) {
    next.webhookUrl = draft.webhook?.url.trim() ?? null;
    next.webhookHeaders = { ...(draft.webhook?.headers ?? {}) };
    next.webhookBodyTemplate = draft.webhook?.bodyTemplate || null;
  }
  // A trigger listens to one kind of thing; the other field would only confuse.
  if (next.type === TriggerType.SIGNAL) next.eventTag = null;
  else next.signal = null;

  const problems: string[] = [];
  if (next.description.length > 500) problems.push('description must be at most 500 characters');
  if (next.type === TriggerType.SIGNAL && (!next.signal || !KNOWN_SIGNALS.includes(next.signal))) {
    problems.push(`a SIGNAL trigger needs signal, one of: ${KNOWN_SIGNALS.join(', ')}`);
  }
  if (next.type === TriggerType.EVENT && (!next.eventTag || !EVENT_TAG_RE.test(next.eventTag))) {
    problems.push('an EVENT trigger needs eventTag: letters, digits, _ . - / and * wildcards');
  }
  if (!Number.isInteger(next.minIntervalSeconds) || next.minIntervalSeconds < 0 || next.minIntervalSeconds > MAX_INTERVAL_SECONDS) {
    problems.push(`minIntervalSeconds must be an integer between 0 and ${MAX_INTERVAL_SECONDS}`);
  }
  if (draft.email && next.emailRecipients.length === 0) problems.push('an e-mail action needs at least one recipient');
  if (next.emailRecipients.length > MAX_RECIPIENTS) problems.push(`at most ${MAX_RECIPIENTS} e-mail recipients`);
  for (const recipient of next.emailRecipients) if (!EMAIL_RE.test(recipient)) problems.push(`"${recipient}" is not an e-mail address`);
  if (next.webhookUrl !== null) {
    problems.push(...webhookUrlProblems(next.webhookUrl, config.webhookAllowPrivateNetworks), ...headerProblems(next.webhookHeaders));
    if (next.webhookBodyTemplate !== null) {
      const syntax = templateProblems(next.webhookBodyTemplate);
      problems.push(...syntax);
      if (syntax.length === 0) {
        problems.push(...deliveries.templateProblems({ description: next.description, webhookUrl: next.webhookUrl, webhookBodyTemplate: next.webhookBodyTemplate }));
      }
    }
  }
  if (problems.length) throw invalidInput(problems.join('; '), { problems });
  return next;
}
