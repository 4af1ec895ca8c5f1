import type { Config } from '../../config/config.js';
import { microsToIso, nowIso } from '../../lib/time.js';
import type { TemplateContext } from '../../notify/body-template.js';
import { downloadUrlExpiry, signDownloadUrl } from '../../notify/download-link.js';
import type { Trigger } from '../triggers/trigger.entity.js';
import type { TripExportFinishedMessage } from './announcement-topics.js';
import type { Signal, SignalReason, TripExportFinishedPayload } from './signal.entity.js';
import { cursorOf } from './signal-stream.js';

/** A signal as every channel renders it: the outbox payload plus a fresh download link. */
export interface Announcement {
  readonly eventId: string;
  readonly reason: SignalReason;
  /** The result's revision: 1 for the first export, 2, 3 ... for later ones. */
  readonly revision: number;
  readonly occurredAt: string;
  readonly task: TripExportFinishedPayload['task'];
  readonly trip: TripExportFinishedPayload['trip'];
  readonly device: TripExportFinishedPayload['device'];
  readonly result: TripExportFinishedPayload['result'] & { readonly download_url: string };
  readonly downloadUrlExpiresAt: string;
}

/** The signal as published; it has its position once fanned out (0 before, which no stream uses). */
export const messageOfSignal = (signal: Signal): TripExportFinishedMessage => ({
  eventId: signal.id,
  position: signal.position ?? 0,
  cursor: cursorOf(signal.name, signal.position ?? 0),
  reason: signal.reason,
  customerId: signal.customer.id,
  deviceId: signal.deviceId,
  tripId: String(signal.tripId),
  taskId: String(signal.taskId),
  occurredAt: signal.createdAt,
  payload: signal.payload,
});

/** Built per attempt, so a retry hours later still carries a link that works. */
export function announce(config: Config, message: TripExportFinishedMessage, now: number = Date.now()): Announcement {
  const { payload } = message;
  return {
    eventId: message.eventId,
    reason: message.reason,
    revision: payload.revision ?? 1,
    occurredAt: message.occurredAt,
    task: payload.task,
    trip: payload.trip,
    device: payload.device,
    result: { ...payload.result, download_url: signDownloadUrl(config, message.taskId, message.customerId, now) },
    downloadUrlExpiresAt: microsToIso(BigInt(downloadUrlExpiry(config, now)) * 1_000_000n),
  };
}

/** The Standard Webhooks body: `{"type", "timestamp", "data"}`. */
export const webhookEnvelope = (a: Announcement): Record<string, unknown> => ({
  type: 'trip_export_finished',
  timestamp: a.occurredAt,
  data: { event_id: a.eventId, reason: a.reason, revision: a.revision, task: a.task, trip: a.trip, device: a.device, result: a.result },
});

/** What a custom body template can name: {{signal.*}} (id, name, reason, revision, created_at), {{task.*}}, {{trip.*}}, {{device.*}}, {{result.*}}, {{trigger.*}}. */
export const templateContext = (a: Announcement, trigger: Pick<Trigger, 'id' | 'description'>): TemplateContext => ({
  signal: { id: a.eventId, name: 'trip_export_finished', reason: a.reason, revision: a.revision, created_at: a.occurredAt },
  task: a.task,
  trip: a.trip,
  device: a.device,
  result: a.result,
  trigger: { id: trigger.id, description: trigger.description },
});

/** A made-up announcement for `testTrigger` and for checking templates when they are saved. */
export function sampleMessage(customerId: string, device?: { id: string; unitId: string; vehicleId: number; name: string }): TripExportFinishedMessage {
  const now = nowIso();
  const start = microsToIso(BigInt(Date.now() - 3600_000) * 1000n);
  return {
    eventId: '00000000-0000-4000-8000-000000000000',
    position: 0,
    cursor: cursorOf('trip_export_finished', 0),
    reason: 'finished',
    customerId,
    deviceId: device?.id ?? '00000000-0000-4000-8000-000000000001',
    tripId: '00000000-0000-4000-8000-000000000002',
    taskId: '0',
    occurredAt: now,
    payload: {
      revision: 1,
      task: { id: 0, state: 'SUCCESS', created_at: now },
      trip: { id: '00000000-0000-4000-8000-000000000002', start_time_utc: start, end_time_utc: now, state: 'completed', test: true },
      device: {
        id: device?.id ?? '00000000-0000-4000-8000-000000000001',
        unit_id: device?.unitId ?? '00000000-0000-4000-8000-000000000003',
        vehicle_id: device?.vehicleId ?? 0,
        name: device?.name ?? 'Test vehicle',
      },
      result: { bytes: 0, sha256: '0'.repeat(64), records: 0, first_ts: start, last_ts: now },
    },
  };
}
