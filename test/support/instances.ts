/** Several instances of the service on one database, as the multi-instance tests run them. */
import { after, before } from 'node:test';

import { Redis } from 'ioredis';

import type { Role } from '../../src/app.js';
import { NO_REDIS, TEST_REDIS_URL } from './redis.js';
import { startTestApp, type TestApp } from './test-app.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';
import { waitFor } from './wait.js';

export interface Instances {
  readonly db: () => TestDatabase;
  /** Starts an instance sharing subscription events through Redis. */
  start(role: Role): Promise<TestApp>;
  stop(app: TestApp): Promise<void>;
  /** Waits until some instance's SUBSCRIBE to `topic:key` has reached Redis. */
  redisSubscribed(topic: string, key: string): Promise<void>;
}

/** Registers the suite's before/after hooks: call it inside `describe`. */
export function useInstances(): Instances {
  let db: TestDatabase | undefined;
  const apps: TestApp[] = [];
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  before(async () => {
    db = await createTestDatabase();
    if (!NO_REDIS) await redis.connect();
  });
  after(async () => {
    await Promise.allSettled(apps.map((a) => a.close()));
    await db?.drop();
    redis.disconnect();
  });
  return {
    db: () => db!,
    async start(role) {
      const app = await startTestApp({ REDIS_URL: TEST_REDIS_URL }, { db: db!, role });
      apps.push(app);
      return app;
    },
    async stop(app) {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
    },
    async redisSubscribed(topic, key) {
      const channel = `${topic}:${key}`;
      await waitFor(async () => Number(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]) >= 1, `the Redis subscription to ${channel}`);
    },
  };
}
