import type { TopicPubSub } from '../../notify/pub-sub.js';

export type TripChangeKind = 'started' | 'ended' | 'reopened';

/** A trip started, ended or reopened, published after the upload that did it committed: plain JSON. */
export interface TripUpdatedMessage {
  readonly tripId: string;
  readonly customerId: string;
  readonly deviceId: string;
  readonly change: TripChangeKind;
  readonly startTimeUtc: string;
  readonly endTimeUtc: string | null;
  readonly occurredAt: string;
}

/** Routed by customer id, so a subscriber only ever hears its own customer's trips. */
export type TripTopics = { TRIP_UPDATED: [customerId: string, message: TripUpdatedMessage] };

export const TRIP_UPDATED = 'TRIP_UPDATED';

export type TripPubSub = TopicPubSub<TripTopics>;
