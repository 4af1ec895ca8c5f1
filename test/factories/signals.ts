import { randomInt } from 'node:crypto';

import type { MikroORM } from '@mikro-orm/postgresql';

import { Signal, type SignalReason } from '../../src/modules/announcements/signal.entity.js';
import { Trip, TripState } from '../../src/modules/trips/trip.entity.js';
import type { TestCustomer, TestDevice } from './accounts.js';

export interface TestTrip {
  readonly id: string;
  readonly startTimeUtc: string;
  readonly endTimeUtc: string;
}

/** A completed trip of the device, as trip detection would leave it. */
export async function createTrip(orm: MikroORM, customer: TestCustomer, device: TestDevice): Promise<TestTrip> {
  const em = orm.em.fork();
  const trip = em.create(Trip, {
    customer: customer.customerId,
    device: device.id,
    startTimeUtc: '2026-11-25T08:00:00.123456Z',
    endTimeUtc: '2026-11-25T08:42:10.654321Z',
    state: TripState.COMPLETED,
    endCount: 1,
  });
  await em.flush();
  return { id: trip.id, startTimeUtc: trip.startTimeUtc, endTimeUtc: trip.endTimeUtc! };
}

/**
 * Writes a trip_export_finished signal to the outbox exactly as the exports code does when a
 * task turns SUCCESS (or the daily job re-announces it): this row is the contract.
 */
export async function writeSignal(
  orm: MikroORM,
  customer: TestCustomer,
  device: TestDevice & { name?: string },
  trip: TestTrip,
  options: { reason?: SignalReason; taskId?: number; revision?: number } = {},
): Promise<Signal & { readonly tripId: string; readonly taskId: string }> {
  const em = orm.em.fork();
  const taskId = options.taskId ?? randomInt(1, 2 ** 40);
  const signal = em.create(Signal, {
    customer: customer.customerId,
    name: 'trip_export_finished',
    reason: options.reason ?? 'finished',
    deviceId: device.id,
    tripId: trip.id,
    taskId: String(taskId),
    payload: {
      revision: options.revision ?? (options.reason === 'updated' ? 2 : 1),
      task: { id: taskId, state: 'SUCCESS', created_at: '2026-11-25T08:52:11.000001Z' },
      trip: {
        id: trip.id,
        start_time_utc: trip.startTimeUtc,
        end_time_utc: trip.endTimeUtc,
        state: 'completed',
        device: device.id,
        vehicle: device.vehicleId,
        unit_id: device.unitId,
        duration: '00:42:10',
      },
      device: { id: device.id, unit_id: device.unitId, vehicle_id: device.vehicleId, name: device.name ?? 'Van' },
      result: { bytes: 12345, sha256: 'ab'.repeat(32), records: 678, first_ts: trip.startTimeUtc, last_ts: trip.endTimeUtc },
    },
  });
  await em.flush();
  return signal as Signal & { readonly tripId: string; readonly taskId: string };
}
