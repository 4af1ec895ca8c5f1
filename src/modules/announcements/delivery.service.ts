import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';

import { conflict, invalidInput } from '../../lib/errors.js';
import { findOwned, requireOwned } from '../../lib/ownership.js';
import { type ConnectionShape, keysetConnection } from '../../lib/pagination.js';
import type { Principal } from '../../lib/principal.js';
import { canonicalIso } from '../../lib/time.js';
import { Trigger } from '../triggers/trigger.entity.js';
import { Delivery, DeliveryState } from './delivery.entity.js';
import { DeliveryAttempt } from './delivery-attempt.entity.js';
import { WORK_CHANNEL } from './fan-out.js';

export interface DeliveryFilter {
  readonly triggerId?: string | null;
  readonly taskId?: string | null;
  readonly state?: DeliveryState | null;
  readonly first?: number;
  readonly offset?: number;
}

const MAX_PAGE = 200;

/** Deliveries as their owner sees them: listing, the attempt log, and sending one again. */
export class DeliveryService {
  /** Newest first. A trigger of another customer answers NOT_FOUND; a task id only narrows the caller's own deliveries. */
  async list(em: EntityManager, principal: Principal, filter: DeliveryFilter): Promise<Delivery[]> {
    const first = filter.first ?? 50;
    const offset = filter.offset ?? 0;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw invalidInput(`first must be between 1 and ${MAX_PAGE}`);
    if (!Number.isInteger(offset) || offset < 0) throw invalidInput('offset must not be negative');
    return em.find(Delivery, await this.where(em, principal, filter), { orderBy: { createdAt: 'desc', id: 'asc' }, limit: first, offset });
  }

  /** Newest first, a page after the cursor. */
  async connection(em: EntityManager, principal: Principal, filter: DeliveryFilter, first?: number | null, after?: string | null): Promise<ConnectionShape<Delivery>> {
    return keysetConnection(em, Delivery, await this.where(em, principal, filter), { key: 'createdAt', direction: 'desc' }, first, after);
  }

  private async where(em: EntityManager, principal: Principal, filter: DeliveryFilter): Promise<FilterQuery<Delivery>> {
    const where: FilterQuery<Delivery> & Record<string, unknown> = { customer: principal.customerId };
    if (filter.triggerId) {
      await requireOwned(em, Trigger, principal, filter.triggerId, 'Trigger');
      where.trigger = filter.triggerId;
    }
    // Task ids are numbers: anything else names no task, and no task is numbered 0.
    if (filter.taskId) where.taskId = /^\d{1,18}$/.test(filter.taskId) ? filter.taskId : '0';
    if (filter.state) where.state = filter.state;
    return where;
  }

  get(em: EntityManager, principal: Principal, id: string): Promise<Delivery> {
    return findOwned(em, Delivery, principal, id, 'Delivery');
  }

  /** The attempt log of a delivery the caller already holds (so already scoped). */
  attemptsOf(em: EntityManager, delivery: Delivery): Promise<DeliveryAttempt[]> {
    return em.find(DeliveryAttempt, { delivery: delivery.id }, { orderBy: { number: 'asc', createdAt: 'asc' } });
  }

  triggerOf(em: EntityManager, delivery: Delivery): Promise<Trigger> {
    return em.findOneOrFail(Trigger, { id: delivery.trigger.id, customer: delivery.customer.id });
  }

  /**
   * Queues a finished delivery (DELIVERED or FAILED) again with a fresh retry schedule. It
   * keeps its webhook-id: it is the same message, and receivers may drop it as a duplicate.
   */
  async redeliver(em: EntityManager, principal: Principal, id: string): Promise<Delivery> {
    const delivery = await this.get(em, principal, id);
    const trigger = await this.triggerOf(em, delivery);
    if (!trigger.enabled) throw conflict('the trigger is disabled; enable it before redelivering');
    const queuedAt = await em.transactional(async (tx) => {
      // Due by the database clock, the one the dispatchers compare against.
      const rows = await tx.execute<{ next_attempt_at: string }[]>(
        `update deliveries set state = 'pending', attempts_in_run = 0, next_attempt_at = now(), last_error = null
          where id = ? and state in ('delivered', 'failed')
          returning next_attempt_at::text`,
        [delivery.id],
      );
      if (rows.length > 0) await tx.execute(`select pg_notify('${WORK_CHANNEL}', 'delivery')`);
      return rows[0]?.next_attempt_at;
    });
    if (!queuedAt) throw conflict(`the delivery is ${delivery.state.toUpperCase()}; only DELIVERED or FAILED ones can be sent again`);
    // Answer what this call wrote: re-reading would race a dispatcher the NOTIFY already woke.
    Object.assign(delivery, { state: DeliveryState.PENDING, attemptsInRun: 0, nextAttemptAt: canonicalIso(queuedAt) ?? queuedAt, lastError: null });
    return delivery;
  }
}
