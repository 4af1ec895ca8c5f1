import { setMaxListeners } from 'node:events';

import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSubEventTarget } from '@graphql-yoga/subscription';
import { Redis } from 'ioredis';

/** Topic name to the arguments of a publish: `[routingKey, message]` (see `@graphql-yoga/subscription`). */
export type TopicMap = Record<string, [string, unknown]>;

export type TopicPubSub<Topics extends TopicMap> = ReturnType<typeof createPubSub<Topics>>;

export interface PubSubHandle<Topics extends TopicMap> {
  readonly pubSub: TopicPubSub<Topics>;
  /** True when events cross instances through Redis. */
  readonly shared: boolean;
  close(): Promise<void>;
}

/**
 * Subscription events of any feature: plain JSON messages under a topic and a routing key (a
 * customer id, for example). With REDIS_URL they go through Redis so a subscriber connected to any
 * instance sees what another instance published; a subscriber listens on one topic and key. Without Redis they stay in
 * this process.
 */
export function createTopicPubSub<Topics extends TopicMap>(redisUrl: string | undefined): PubSubHandle<Topics> {
  if (!redisUrl) {
    // Every subscriber of a customer listens on the customer's topic: far more than Node's
    // default of 10 listeners is normal here, not a leak worth a warning in the logs.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return { pubSub: createPubSub<Topics>({ eventTarget }), shared: false, close: async () => undefined };
  }
  // A subscribing Redis connection cannot publish, hence two.
  const publishClient = new Redis(redisUrl);
  const subscribeClient = new Redis(redisUrl);
  // A Redis outage must not crash the process; ioredis reconnects on its own.
  publishClient.on('error', () => undefined);
  subscribeClient.on('error', () => undefined);
  const eventTarget = createRedisEventTarget({ publishClient, subscribeClient }) as PubSubEventTarget<Topics>;
  return {
    pubSub: createPubSub<Topics>({ eventTarget }),
    shared: true,
    async close() {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
