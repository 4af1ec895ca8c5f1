import { randomUUID } from 'node:crypto';

import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

import { secondsBetween } from '../../lib/time.js';
import { DeliveryChannel, Trigger, TriggerType } from '../triggers/trigger.entity.js';
import { markFired } from '../triggers/trigger-state.js';
import type { DeviceEventMessage, TripExportFinishedMessage } from './announcement-topics.js';
import { Delivery } from './delivery.entity.js';
import { deviceEventMessageOf } from './device-event-render.js';
import { messageOfSignal } from './rendered-announcement.js';
import { Signal } from './signal.entity.js';
import { assignPositions } from './signal-stream.js';

/** LISTEN/NOTIFY channel that wakes dispatchers: new signals (a table trigger) and new deliveries. */
export const WORK_CHANNEL = 'trip_export_work';

export interface FanOutResult {
  /** Signals fanned out by this call, in outbox order: publish each once, after the commit. */
  readonly messages: TripExportFinishedMessage[];
  /** The `device_event` signals among them, likewise. */
  readonly deviceEvents: DeviceEventMessage[];
  readonly deliveries: number;
}

function channelsOf(trigger: Trigger): DeliveryChannel[] {
  const channels: DeliveryChannel[] = [];
  if (trigger.webhookUrl) channels.push(DeliveryChannel.WEBHOOK);
  if (trigger.emailRecipients.length > 0) channels.push(DeliveryChannel.EMAIL);
  return channels;
}

/**
 * The triggers a signal fans out to, locked. A device event goes to the triggers its upload
 * fired (their device filter and interval were applied there) that are still enabled.
 */
function triggersOf(tx: EntityManager, signal: Signal): Promise<Trigger[]> {
  const where =
    signal.name === 'device_event'
      ? { customer: signal.customer.id, enabled: true, type: TriggerType.EVENT, id: { $in: signal.triggerIds ?? [] } }
      : { customer: signal.customer.id, enabled: true, type: TriggerType.SIGNAL, signal: signal.name, $or: [{ device: null }, { device: signal.deviceId }] };
  return tx.find(Trigger, where, { orderBy: { id: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE });
}

/** The database clock, the one every instance shares, as an ISO text with microseconds. */
async function databaseNow(tx: EntityManager): Promise<string> {
  const [row] = await tx.execute<{ now: string }[]>(`select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now`);
  if (!row) throw new Error('clock_timestamp() returned no row');
  return row.now;
}

/**
 * Turns up to `limit` waiting signals into deliveries, in one transaction. Signals are claimed
 * with FOR UPDATE SKIP LOCKED, so concurrent dispatchers (in this process or others) each take
 * different signals; marking a signal fanned out in the same transaction makes it happen
 * once. Each signal gets its position in its customer's stream here, when it becomes visible
 * (see `signal-stream.ts`). Matching triggers are locked (in id order, so two fan-outs cannot deadlock) so that
 * their minimum interval holds across instances too.
 */
export async function fanOutSignals(em: EntityManager, limit = 20): Promise<FanOutResult> {
  return em.transactional(async (tx) => {
    const signals = await tx.find(Signal, { fannedOutAt: null }, { orderBy: { createdAt: 'asc', id: 'asc' }, limit, lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE });
    // First, before any trigger lock: the streams' locks are then always taken in the same order.
    await assignPositions(tx, signals);
    let deliveries = 0;
    // Triggers fired by an earlier signal of this batch: the loaded rows do not show it yet.
    const firedNow = new Map<string, string>();
    for (const signal of signals) {
      const triggers = await triggersOf(tx, signal);
      // Read the time only now that the triggers are ours: a fan-out we waited for may just
      // have fired them. The database clock is the one every instance shares.
      const now = await databaseNow(tx);
      // A device event fires the triggers it matched at upload, whose interval was applied there.
      const firing =
        signal.name === 'device_event'
          ? triggers
          : triggers.filter((t) => {
              const last = firedNow.get(t.id) ?? t.lastTriggeredAt;
              return !last || secondsBetween(last, now) >= t.minIntervalSeconds;
            });
      const rows = firing.flatMap((trigger) =>
        channelsOf(trigger).map((channel) => ({
          id: randomUUID(),
          createdAt: now,
          customer: signal.customer.id,
          signal: signal.id,
          trigger: trigger.id,
          channel,
          taskId: signal.taskId,
          reason: signal.reason,
          nextAttemptAt: now,
        })),
      );
      if (rows.length > 0) {
        // The unique key (signal, trigger, channel) is the last word on "once".
        const inserted: { affectedRows: number } = await tx.createQueryBuilder(Delivery).insert(rows).onConflict(['signal', 'trigger', 'channel']).ignore().execute('run');
        deliveries += inserted.affectedRows;
      }
      await markFired(
        tx,
        firing.map((t) => t.id),
        now,
      );
      for (const trigger of firing) firedNow.set(trigger.id, now);
      signal.fannedOutAt = now;
    }
    if (deliveries > 0) await tx.execute(`select pg_notify('${WORK_CHANNEL}', 'delivery')`);
    const exports = signals.filter((s) => s.name !== 'device_event');
    const events = signals.filter((s) => s.name === 'device_event');
    return { messages: exports.map(messageOfSignal), deviceEvents: events.map(deviceEventMessageOf), deliveries };
  });
}
