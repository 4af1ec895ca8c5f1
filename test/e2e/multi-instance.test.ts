import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { print } from 'graphql';
import { Redis } from 'ioredis';

import { loadConfig } from '../../src/config/config.js';
import { TRIP_EXPORT_FINISHED, type TripExportFinishedMessage } from '../../src/modules/announcements/announcement-topics.js';
import { writeSignal } from '../factories/signals.js';
import { TripExportFinishedDocument, type TripExportFinishedSubscription } from '../generated/graphql.js';
import { createFleet, createTrigger, type Fleet, webhookTrigger } from '../support/notify-fixtures.js';
import { NO_REDIS, TEST_REDIS_URL } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';
import { sleep, waitFor } from '../support/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { connectWs } from '../support/ws-client.js';

const REDIS_URL = TEST_REDIS_URL;
const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
redis.on('error', () => undefined);
if (!NO_REDIS) await redis.connect();

type Event = TripExportFinishedSubscription['tripExportFinished'];

/** Collects what an instance's own pub/sub carries for a customer: each publish is one event. */
function watch(app: TestApp, customerId: string): TripExportFinishedMessage[] {
  const seen: TripExportFinishedMessage[] = [];
  void (async () => {
    for await (const message of app.app.services.notify.pubSub.pubSub.subscribe(TRIP_EXPORT_FINISHED, customerId)) seen.push(message);
  })();
  return seen;
}

describe('several instances on one database', () => {
  let db: TestDatabase;
  let acme: Fleet;
  let receiver: WebhookReceiver;
  const apps: TestApp[] = [];
  const start = async (env: Record<string, string>, role: 'api' | 'worker' | 'all'): Promise<TestApp> => {
    const app = await startTestApp(env, { db, role });
    apps.push(app);
    return app;
  };

  before(async () => {
    db = await createTestDatabase();
    receiver = await startWebhookReceiver();
    acme = await createFleet(db.orm, loadConfig({ LOG_LEVEL: 'silent' }), 'Acme');
  });
  after(async () => {
    await Promise.allSettled(apps.map((a) => a.close()));
    await receiver.close();
    await db.drop();
    redis.disconnect();
  });

  it('two dispatchers share the work: each webhook sent once, each event published once', async () => {
    const [one, two] = [await start({}, 'worker'), await start({}, 'worker')];
    const api = await start({}, 'api');
    await createTrigger(api.baseUrl, acme.customer.apiToken, webhookTrigger(receiver.url));
    const [seenByOne, seenByTwo] = [watch(one, acme.customer.customerId), watch(two, acme.customer.customerId)];

    const signals = await Promise.all(Array.from({ length: 30 }, () => writeSignal(db.orm, acme.customer, acme.device, acme.trip)));
    await waitFor(
      async () => Number((await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM deliveries WHERE state = 'delivered'")).rows[0]?.n) === 30,
      '30 delivered',
      20_000,
    );
    const ids = receiver.received.map((r) => String(r.headers['webhook-id']));
    assert.equal(ids.length, 30, 'thirty requests');
    assert.equal(new Set(ids).size, 30, 'thirty different webhook-ids: no delivery was sent twice');
    const { rows } = await db.pool.query<{ attempts: number }>('SELECT attempts FROM deliveries');
    assert.ok(rows.every((r) => r.attempts === 1));

    const published = [...seenByOne, ...seenByTwo].map((m) => m.eventId);
    assert.deepEqual([...published].sort(), signals.map((s) => s.id).sort(), 'every event published once, by one of the two');
    await Promise.all(
      [one, two, api].map(async (app) => {
        await app.close();
        apps.splice(apps.indexOf(app), 1);
      }),
    );
  });

  it('with REDIS_URL, an event fanned out by one instance reaches a subscriber on another', { skip: NO_REDIS }, async () => {
    const front = await start({ REDIS_URL }, 'api');
    await start({ REDIS_URL }, 'worker');
    const socket = connectWs(front.baseUrl, `APIToken ${acme.customer.apiToken}`);
    try {
      const sub = socket.subscribe<{ tripExportFinished: Event }>(print(TripExportFinishedDocument));
      await waitFor(() => front.app.ws!.liveSubscriptions() === 1, 'the subscription on the front instance');
      // The front instance's SUBSCRIBE has reached Redis once the channel has a listener.
      const channel = `${TRIP_EXPORT_FINISHED}:${acme.customer.customerId}`;
      await waitFor(async () => Number(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]) >= 1, 'the Redis subscription');

      const signal = await writeSignal(db.orm, acme.customer, acme.device, acme.trip);
      await waitFor(() => sub.events.length > 0, 'the event through Redis');
      assert.equal(sub.events[0]?.tripExportFinished.eventId, signal.id);
      assert.equal(sub.events[0]?.tripExportFinished.device.id, acme.device.id);
      const next = await writeSignal(db.orm, acme.customer, acme.device, acme.trip, { reason: 'reannounce' });
      await waitFor(() => sub.events.length > 1, 'the second event');
      assert.deepEqual(
        sub.events.map((e) => e.tripExportFinished.eventId),
        [signal.id, next.id],
      );
    } finally {
      await socket.dispose();
    }
  });

  it('without REDIS_URL, events stay in the instance that fanned them out', async () => {
    // Only these two instances may fan out, so the one whose subscriber hears it is known.
    await Promise.all(apps.splice(0).map((app) => app.close()));
    const front = await start({}, 'api');
    // Role `all`: it fans out, and its own subscriber shows when the event was published.
    const back = await start({}, 'all');
    const frontSocket = connectWs(front.baseUrl, `APIToken ${acme.customer.apiToken}`);
    const backSocket = connectWs(back.baseUrl, `APIToken ${acme.customer.apiToken}`);
    try {
      const away = frontSocket.subscribe<{ tripExportFinished: Event }>(print(TripExportFinishedDocument));
      const local = backSocket.subscribe<{ tripExportFinished: Event }>(print(TripExportFinishedDocument));
      await waitFor(() => front.app.ws!.liveSubscriptions() === 1 && back.app.ws!.liveSubscriptions() === 1, 'both subscriptions');
      const signal = await writeSignal(db.orm, acme.customer, acme.device, acme.trip);
      await waitFor(() => local.events.length === 1, 'the event on the instance that fanned it out');
      assert.equal(local.events[0]?.tripExportFinished.eventId, signal.id);
      // Published: a shared bus would have carried it to the front by now; give it a moment more.
      await sleep(300);
      assert.deepEqual(away.events, []);
    } finally {
      await frontSocket.dispose();
      await backSocket.dispose();
    }
  });
});
