import { randomUUID } from 'node:crypto';

import type { Queryable } from '../../lib/domain-events.js';
import type { SignalReason, TripExportFinishedPayload } from './signal.entity.js';

/** One `trip_export_finished` announcement, as the exports feature reports it. */
export interface TripExportSignal {
  readonly customerId: string;
  readonly deviceId: string;
  readonly tripId: string;
  readonly taskId: number;
  readonly reason: SignalReason;
  readonly payload: TripExportFinishedPayload;
}

/**
 * Writes a signal to the outbox. Call it in the transaction that makes the announced change
 * visible, so a signal exists exactly when the change does; the dispatcher fans it out.
 */
export async function insertTripExportSignal(q: Queryable, signal: TripExportSignal): Promise<void> {
  await q.query(
    `insert into signals (id, customer_id, name, reason, device_id, trip_id, task_id, payload)
     values ($1, $2, 'trip_export_finished', $3, $4, $5, $6, $7)`,
    [randomUUID(), signal.customerId, signal.reason, signal.deviceId, signal.tripId, signal.taskId, JSON.stringify(signal.payload)],
  );
}
