import type { TopicPubSub } from '../../notify/pub-sub.js';
import type { DeviceEventPayload, SignalReason, TripExportFinishedPayload } from './signal.entity.js';

/** What travels between instances when a signal has been fanned out: plain JSON. */
export interface TripExportFinishedMessage {
  readonly eventId: string;
  /** Place in the customer's trip_export_finished stream (see `signal-stream.ts`). */
  readonly position: number;
  /** The opaque form of `position` a client resumes from. */
  readonly cursor: string;
  readonly reason: SignalReason;
  readonly customerId: string;
  readonly deviceId: string;
  readonly tripId: string;
  readonly taskId: string;
  readonly occurredAt: string;
  readonly payload: TripExportFinishedPayload;
}

/** A `device_event` signal once fanned out, as it travels between instances. */
export interface DeviceEventMessage {
  readonly eventId: string;
  /** Place in the customer's device_event stream (see `signal-stream.ts`). */
  readonly position: number;
  /** The opaque form of `position` a client resumes from. */
  readonly cursor: string;
  readonly customerId: string;
  readonly deviceId: string;
  readonly occurredAt: string;
  readonly payload: DeviceEventPayload;
}

/** The topics of the announcements; the routing key is the customer id, so a subscriber only hears its own customer. */
export type AnnouncementTopics = {
  TRIP_EXPORT_FINISHED: [customerId: string, message: TripExportFinishedMessage];
  DEVICE_EVENT: [customerId: string, message: DeviceEventMessage];
};

export const TRIP_EXPORT_FINISHED = 'TRIP_EXPORT_FINISHED';
export const DEVICE_EVENT = 'DEVICE_EVENT';

export type AnnouncementPubSub = TopicPubSub<AnnouncementTopics>;
