import { Redis } from 'ioredis';

/** Redis used by the tests that need one: REDIS_URL, else the local server. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function reachable(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** `false` when Redis answers, else the reason to give `it(…, { skip })`, so a skip says why. */
export const NO_REDIS: false | string = (await reachable(TEST_REDIS_URL)) ? false : `Redis is not reachable at ${TEST_REDIS_URL} (set REDIS_URL)`;
