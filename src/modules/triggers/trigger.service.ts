import type { EntityManager } from '@mikro-orm/postgresql';

import type { Config } from '../../config/config.js';
import { invalidInput } from '../../lib/errors.js';
import { findOwned, requireOwned } from '../../lib/ownership.js';
import { type ConnectionShape, keysetConnection } from '../../lib/pagination.js';
import type { Principal } from '../../lib/principal.js';
import { microsToIso } from '../../lib/time.js';
import { Device } from '../devices/device.entity.js';
import { Trigger, TriggerType } from './trigger.entity.js';
import type { TriggerDeliveries, TriggerTestResult } from './trigger-deliveries.js';
import { applyTriggerDraft, type TriggerDraft, type TriggerFields } from './trigger-rules.js';
import type { WebhookSecrets } from './webhook-secrets.js';

export interface TriggerWithSecret {
  readonly trigger: Trigger;
  /** The signing secret in clear: returned by create and rotate only, never stored so. */
  readonly webhookSecret: string;
}

const MAX_ROTATION_OVERLAP_SECONDS = 7 * 86400;

const EMPTY: TriggerFields = {
  description: '',
  enabled: true,
  type: TriggerType.SIGNAL,
  signal: null,
  eventTag: null,
  deviceId: null,
  minIntervalSeconds: 0,
  emailRecipients: [],
  webhookUrl: null,
  webhookHeaders: {},
  webhookBodyTemplate: null,
};

const fieldsOf = (t: Trigger): TriggerFields => ({
  description: t.description,
  enabled: t.enabled,
  type: t.type,
  signal: t.signal ?? null,
  eventTag: t.eventTag ?? null,
  deviceId: t.device?.id ?? null,
  minIntervalSeconds: t.minIntervalSeconds,
  emailRecipients: t.emailRecipients,
  webhookUrl: t.webhookUrl ?? null,
  // Stand-ins: the values stay sealed unless a draft replaces the webhook (see `columns`).
  webhookHeaders: t.webhookHeaderMasks,
  webhookBodyTemplate: t.webhookBodyTemplate ?? null,
});

/** A customer's triggers: what to send where when a signal arrives. */
export class TriggerService {
  constructor(
    private readonly config: Config,
    private readonly secrets: WebhookSecrets,
    private readonly deliveries: TriggerDeliveries,
  ) {}

  list(em: EntityManager, principal: Principal): Promise<Trigger[]> {
    return em.find(Trigger, { customer: principal.customerId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** The caller's triggers a page at a time, oldest first (as `list`). */
  connection(em: EntityManager, principal: Principal, first?: number | null, after?: string | null): Promise<ConnectionShape<Trigger>> {
    return keysetConnection(em, Trigger, { customer: principal.customerId }, { key: 'createdAt', direction: 'asc' }, first, after);
  }

  /** The caller's trigger; another customer's id answers NOT_FOUND like an unknown one. */
  get(em: EntityManager, principal: Principal, id: string): Promise<Trigger> {
    return findOwned(em, Trigger, principal, id, 'Trigger');
  }

  async create(em: EntityManager, principal: Principal, draft: TriggerDraft): Promise<TriggerWithSecret> {
    if (draft.type === undefined) throw invalidInput('type is required (SIGNAL or EVENT)');
    const fields = applyTriggerDraft(EMPTY, draft, this.config, this.deliveries);
    await this.checkDevice(em, principal, fields.deviceId);
    const { secret, sealed } = this.secrets.create();
    const trigger = em.create(Trigger, { customer: principal.customerId, webhookSecretSealed: sealed, ...this.columns(em, fields) });
    await em.flush();
    return { trigger, webhookSecret: secret };
  }

  async update(em: EntityManager, principal: Principal, id: string, draft: TriggerDraft): Promise<Trigger> {
    const trigger = await this.get(em, principal, id);
    const fields = applyTriggerDraft(fieldsOf(trigger), this.unmasked(trigger, draft), this.config, this.deliveries);
    if (draft.deviceId !== undefined) await this.checkDevice(em, principal, fields.deviceId);
    const disabling = trigger.enabled && !fields.enabled;
    em.assign(trigger, this.columns(em, fields, draft.webhook !== undefined));
    await em.transactional(async (tx) => {
      // Disabled means nothing more is sent, retries included; redeliver after enabling again.
      if (disabling) await this.deliveries.failWaiting(tx, trigger.id, 'the trigger was disabled before this delivery was sent');
    });
    return trigger;
  }

  async delete(em: EntityManager, principal: Principal, id: string): Promise<string> {
    const trigger = await this.get(em, principal, id);
    await em.remove(trigger).flush();
    return id;
  }

  /**
   * A new signing secret, returned once. The old one keeps signing next to it for
   * `keepPreviousSeconds` (0: stop at once) so receivers can switch without losing messages.
   */
  async rotateSecret(em: EntityManager, principal: Principal, id: string, keepPreviousSeconds = 86400): Promise<TriggerWithSecret> {
    if (!Number.isInteger(keepPreviousSeconds) || keepPreviousSeconds < 0 || keepPreviousSeconds > MAX_ROTATION_OVERLAP_SECONDS) {
      throw invalidInput(`keepPreviousSeconds must be an integer between 0 and ${MAX_ROTATION_OVERLAP_SECONDS}`);
    }
    const trigger = await this.get(em, principal, id);
    const { secret, sealed } = this.secrets.create();
    const keep = keepPreviousSeconds > 0;
    trigger.previousWebhookSecretSealed = keep ? trigger.webhookSecretSealed : null;
    trigger.previousSecretExpiresAt = keep ? microsToIso(BigInt(Date.now() + keepPreviousSeconds * 1000) * 1000n) : null;
    trigger.webhookSecretSealed = sealed;
    await em.flush();
    return { trigger, webhookSecret: secret };
  }

  /**
   * Sends a made-up announcement through every action of the trigger right now and reports
   * what happened. Nothing is stored, retried or counted as a firing.
   */
  async test(em: EntityManager, principal: Principal, id: string): Promise<TriggerTestResult[]> {
    const trigger = await this.get(em, principal, id);
    if (!trigger.webhookUrl && trigger.emailRecipients.length === 0) throw invalidInput('the trigger has no action to test');
    const device = trigger.device ? await em.findOne(Device, { id: trigger.device.id, customer: principal.customerId }) : null;
    return this.deliveries.test(trigger, principal.customerId, device ?? undefined);
  }

  private async checkDevice(em: EntityManager, principal: Principal, deviceId: string | null): Promise<void> {
    if (deviceId !== null) await requireOwned(em, Device, principal, deviceId, 'Device');
  }

  /**
   * Seals the header values of rows written before they were sealed. Run at start-up by every
   * instance; the conditional update lets exactly one of them seal each row.
   */
  async sealPlainHeaders(em: EntityManager): Promise<number> {
    const plain = await em
      .getConnection()
      .execute<{ id: string; webhook_headers: Record<string, string> }[]>(
        `select id, webhook_headers from triggers where webhook_headers_sealed is null and webhook_headers <> '{}'::jsonb`,
      );
    let sealed = 0;
    for (const row of plain) {
      sealed += await em.nativeUpdate(Trigger, { id: row.id, webhookHeadersSealed: null }, this.secrets.sealHeaders(row.webhook_headers));
    }
    return sealed;
  }

  /** A header sent back exactly as shown (masked) keeps its value: clients may PUT what they GET. */
  private unmasked(trigger: Trigger, draft: TriggerDraft): TriggerDraft {
    const webhook = draft.webhook;
    const kept = Object.keys(webhook?.headers ?? {}).filter((name) => webhook?.headers?.[name] === trigger.webhookHeaderMasks[name]);
    if (!webhook || kept.length === 0) return draft;
    let current: Record<string, string>;
    try {
      current = this.secrets.headerValues(trigger);
    } catch {
      throw invalidInput(`the stored values of ${kept.join(', ')} cannot be read any more (was JWT_SECRET changed?); send them again`);
    }
    return { ...draft, webhook: { ...webhook, headers: { ...webhook.headers, ...Object.fromEntries(kept.map((name) => [name, current[name] ?? ''])) } } };
  }

  /** The trigger's columns for `fields`; the header columns only when the webhook was given anew. */
  private columns(em: EntityManager, fields: TriggerFields, headersGiven = true) {
    const { deviceId, webhookHeaders, ...rest } = fields;
    return {
      ...rest,
      ...(headersGiven ? this.secrets.sealHeaders(webhookHeaders) : {}),
      device: deviceId ? em.getReference(Device, deviceId, { wrapped: true }) : null,
    };
  }
}
