import { setMaxListeners } from 'node:events';

import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSubEventTarget } from '@graphql-yoga/subscription';
import { Redis } from 'ioredis';

import type { SignalReason, TripExportFinishedPayload } from '../modules/signals/signal.entity.js';

/** What travels between instances when a signal has been fanned out: plain JSON. */
export interface TripExportFinishedMessage {
  readonly eventId: string;
  readonly reason: SignalReason;
  readonly customerId: string;
  readonly deviceId: string;
  readonly tripId: string;
  readonly taskId: string;
  readonly occurredAt: string;
  readonly payload: TripExportFinishedPayload;
}

type Channels = { TRIP_EXPORT_FINISHED: [customerId: string, message: TripExportFinishedMessage] };

export const TRIP_EXPORT_FINISHED = 'TRIP_EXPORT_FINISHED';

export type AnnouncementPubSub = ReturnType<typeof createPubSub<Channels>>;

export interface PubSubHandle {
  readonly pubSub: AnnouncementPubSub;
  /** True when events cross instances through Redis. */
  readonly shared: boolean;
  close(): Promise<void>;
}

/**
 * Subscription events. With REDIS_URL they go through Redis so a subscriber connected to any
 * instance sees what another instance published; the topic carries the customer id, so a
 * subscriber only ever listens on its own customer's channel. Without Redis they stay in
 * this process.
 */
export function createAnnouncementPubSub(redisUrl: string | undefined): PubSubHandle {
  if (!redisUrl) {
    // Every subscriber of a customer listens on the customer's topic: far more than Node's
    // default of 10 listeners is normal here, not a leak worth a warning in the logs.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return { pubSub: createPubSub<Channels>({ eventTarget }), shared: false, close: async () => undefined };
  }
  // A subscribing Redis connection cannot publish, hence two.
  const publishClient = new Redis(redisUrl);
  const subscribeClient = new Redis(redisUrl);
  // A Redis outage must not crash the process; ioredis reconnects on its own.
  publishClient.on('error', () => undefined);
  subscribeClient.on('error', () => undefined);
  const eventTarget = createRedisEventTarget({ publishClient, subscribeClient }) as PubSubEventTarget<Channels>;
  return {
    pubSub: createPubSub<Channels>({ eventTarget }),
    shared: true,
    async close() {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
