import type { Queryable } from '../../lib/domain-events.js';
import type { SignalReason, TripExportFinishedPayload } from '../announcements/signal.entity.js';
import { insertTripExportSignal } from '../announcements/signal.store.js';
import type { ExportResult } from './task-lease.store.js';
import type { TripWithDevice } from './trip-row.js';

export interface AnnouncedTask {
  readonly id: number;
  readonly createdAt: string;
  /** Of the result announced. */
  readonly revision: number;
}

/** A successful run announces its revision: the first as `finished`, every later one as `updated`. */
export const reasonOfRevision = (revision: number): SignalReason => (revision > 1 ? 'updated' : 'finished');

/**
 * Announces the task's result: one `trip_export_finished` signal in the outbox. Call it in the transaction that
 * makes the result visible (or re-announces it), so a signal exists exactly when a result does.
 */
export async function insertExportSignal(q: Queryable, reason: SignalReason, task: AnnouncedTask, subject: TripWithDevice, result: Omit<ExportResult, 'path'>): Promise<void> {
  const payload: TripExportFinishedPayload = {
    revision: task.revision,
    task: { id: task.id, state: 'SUCCESS', created_at: task.createdAt },
    trip: { ...subject.trip },
    device: { id: subject.device.id, unit_id: subject.device.unitId, vehicle_id: subject.device.vehicleId, name: subject.device.name },
    result: { bytes: result.bytes, sha256: result.sha256, records: result.records, first_ts: result.firstTs, last_ts: result.lastTs },
  };
  await insertTripExportSignal(q, { customerId: subject.customerId, deviceId: subject.device.id, tripId: subject.tripId, taskId: task.id, reason, payload });
}
