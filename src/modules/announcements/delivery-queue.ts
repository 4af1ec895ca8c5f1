import type { EntityManager } from '@mikro-orm/postgresql';

import { nowIso } from '../../lib/time.js';
import type { AttemptOutcome } from '../../notify/attempt-outcome.js';
import { recordDeliveryError } from '../triggers/trigger-state.js';
import { Delivery, DeliveryState } from './delivery.entity.js';
import { DeliveryAttempt } from './delivery-attempt.entity.js';

/** A delivery this instance has claimed for one attempt. */
export interface ClaimedDelivery {
  readonly delivery: Delivery;
  /** The attempt number this claim owns; completing with a stale number changes nothing. */
  readonly attempt: number;
}

/**
 * Claims up to `limit` deliveries that are due, for one attempt each: PENDING ones whose time
 * has come, and SENDING ones whose claimant vanished (lease expired). One statement with
 * FOR UPDATE SKIP LOCKED, so two instances never claim the same row, and a claimed row is
 * out of everyone's reach until its lease runs out. Deliveries of disabled triggers are left.
 */
export async function claimDueDeliveries(em: EntityManager, limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
  const rows = await em.execute<{ id: string; attempts: number }[]>(
    `with due as (
       select d.id from deliveries d join triggers t on t.id = d.trigger_id and t.enabled
       where (d.state = 'pending' and d.next_attempt_at <= now())
          or (d.state = 'sending' and d.lease_expires_at <= now())
       order by d.next_attempt_at, d.id
       limit ? for update of d skip locked)
     update deliveries d
        set state = 'sending', attempts = d.attempts + 1, attempts_in_run = d.attempts_in_run + 1,
            lease_expires_at = now() + make_interval(secs => ?), last_attempt_at = now()
       from due where d.id = due.id
     returning d.id, d.attempts`,
    [limit, leaseSeconds],
  );
  if (rows.length === 0) return [];
  const deliveries = await em.find(Delivery, { id: { $in: rows.map((r) => r.id) } }, { populate: ['trigger', 'signal'] });
  const attemptOf = new Map(rows.map((r) => [r.id, Number(r.attempts)]));
  return deliveries.map((delivery) => ({ delivery, attempt: attemptOf.get(delivery.id) ?? delivery.attempts }));
}

/** Milliseconds until the next delivery falls due (a retry or an expiring lease); undefined when none is waiting. */
export async function msUntilNextDue(em: EntityManager): Promise<number | undefined> {
  const [row] = await em.execute<{ ms: string | null }[]>(
    `select extract(epoch from min(case when state = 'pending' then next_attempt_at else lease_expires_at end) - now()) * 1000 as ms
       from deliveries where state in ('pending', 'sending')`,
  );
  return row?.ms === null || row?.ms === undefined ? undefined : Math.max(0, Number(row.ms));
}

/** Fails the waiting deliveries of a trigger that has just been disabled. */
export async function failWaitingDeliveriesOf(em: EntityManager, triggerId: string, reason: string): Promise<void> {
  await em.nativeUpdate(Delivery, { trigger: triggerId, state: DeliveryState.PENDING }, { state: DeliveryState.FAILED, nextAttemptAt: null, lastError: reason });
}

/**
 * Records the attempt and moves the delivery on: DELIVERED, back to PENDING after the next
 * step of `retrySeconds`, or FAILED (retries used up, 410, or nothing a retry could fix). The
 * trigger learns why it failed; a 410 disables it. Guarded by the claimed attempt number, so
 * a claimant that lost its lease records what it saw but cannot overwrite the newer claim.
 */
export async function completeAttempt(em: EntityManager, claim: ClaimedDelivery, outcome: AttemptOutcome, retrySeconds: readonly number[]): Promise<DeliveryState> {
  return em.transactional(async (tx) => {
    const { delivery, attempt } = claim;
    tx.create(DeliveryAttempt, {
      delivery: delivery.id,
      number: attempt,
      startedAt: outcome.startedAt,
      durationMs: outcome.durationMs,
      succeeded: outcome.succeeded,
      statusCode: outcome.statusCode ?? null,
      error: outcome.error ?? null,
      response: outcome.response ?? null,
    });
    await tx.flush();

    const [current] = await tx.execute<{ attempts_in_run: number }[]>(`select attempts_in_run from deliveries where id = ? and state = 'sending' and attempts = ? for update`, [
      delivery.id,
      attempt,
    ]);
    if (!current) return delivery.state;
    const run = Number(current.attempts_in_run);
    const now = nowIso();
    const common = { lastStatusCode: outcome.statusCode ?? null, leaseExpiresAt: null };

    if (outcome.succeeded) {
      await tx.nativeUpdate(Delivery, { id: delivery.id }, { ...common, state: DeliveryState.DELIVERED, deliveredAt: now, nextAttemptAt: null, lastError: null });
      return DeliveryState.DELIVERED;
    }
    const error = outcome.error ?? 'unknown error';
    const retryIn = outcome.gone || outcome.permanent ? undefined : retrySeconds[run - 1];
    if (retryIn !== undefined) {
      await tx.execute(
        `update deliveries set state = 'pending', next_attempt_at = now() + make_interval(secs => ?), last_error = ?, last_status_code = ?, lease_expires_at = null where id = ?`,
        [retryIn, error, outcome.statusCode ?? null, delivery.id],
      );
      await recordDeliveryError(tx, delivery.trigger.id, error, now);
      return DeliveryState.PENDING;
    }
    const why = outcome.gone || outcome.permanent ? error : `gave up after ${run} attempts: ${error}`;
    await tx.nativeUpdate(Delivery, { id: delivery.id }, { ...common, state: DeliveryState.FAILED, nextAttemptAt: null, lastError: why });
    await recordDeliveryError(tx, delivery.trigger.id, why, now, outcome.gone);
    if (outcome.gone) await failWaitingDeliveriesOf(tx, delivery.trigger.id, 'the trigger was disabled after its receiver answered 410 Gone');
    return DeliveryState.FAILED;
  });
}
