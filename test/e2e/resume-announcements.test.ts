import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { print } from 'graphql';

import { jobRegistry } from '../../src/job-handlers.js';
import { TRIP_EXPORT_FINISHED } from '../../src/modules/announcements/announcement-topics.js';
import { createDevice, type TestDevice } from '../factories/accounts.js';
import { drive, upload } from '../factories/records.js';
import { writeSignal } from '../factories/signals.js';
import { TripExportEventsDocument, type TripExportEventsQuery, TripExportFinishedDocument, type TripExportFinishedSubscription } from '../generated/graphql.js';
import { gql, type GraphQLResponse } from '../support/http.js';
import { useInstances } from '../support/instances.js';
import { createFleet, type Fleet } from '../support/notify-fixtures.js';
import { NO_REDIS } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import type { TestDatabase } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';
import { connectWs, type Subscriber, type WsConnection } from '../support/ws-client.js';

type Event = TripExportFinishedSubscription['tripExportFinished'];
const SUBSCRIPTION = print(TripExportFinishedDocument);

const codesOf = (errors: unknown[]): string[] => errors.flat(2).map((e) => String((e as { extensions?: { code?: string } }).extensions?.code));
const idsOf = (sub: Subscriber<{ tripExportFinished: Event }>): string[] => sub.events.map((e) => e.tripExportFinished.eventId);

/** The customer's fanned-out announcements in stream order, as the database has them. */
async function announced(db: TestDatabase, customerId: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>(
    `select id from signals where customer_id = $1 and name = 'trip_export_finished' and position is not null order by position`,
    [customerId],
  );
  return rows.map((r) => r.id);
}

describe('resumable announcements: tripExportFinished(after:) and tripExportEvents', () => {
  let t: TestApp;
  let acme: Fleet;
  let globex: Fleet;
  const sockets: WsConnection[] = [];
  const connect = (app: TestApp, token: string): WsConnection => {
    const socket = connectWs(app.baseUrl, `APIToken ${token}`);
    sockets.push(socket);
    return socket;
  };
  const live = (app: TestApp, count: number) => waitFor(() => app.app.ws!.liveSubscriptions() >= count, `${count} live subscriptions`);

  before(async () => {
    t = await startTestApp();
    acme = await createFleet(t.db.orm, t.config, 'Acme');
    globex = await createFleet(t.db.orm, t.config, 'Globex');
  });
  after(async () => {
    await Promise.allSettled(sockets.map((s) => s.dispose()));
    await t.close();
  });

  it('a subscriber away while two exports finish gets exactly those two on reconnecting with its cursor, then live ones', async () => {
    const customer = await createFleet(t.db.orm, t.config, 'Initech');
    const device: TestDevice = await createDevice(t.db.orm, customer.customer, { autoExport: true, reopenLimitSeconds: 1 });
    const driveAt = (hour: number) => upload(t.baseUrl, device, drive(`2026-06-01T${String(hour).padStart(2, '0')}:00:00.000000Z`, 20, 2));
    const base = t.app.ws!.liveSubscriptions();
    const first = connect(t, customer.customer.apiToken);
    const before = first.subscribe<{ tripExportFinished: Event }>(SUBSCRIPTION);
    await live(t, base + 1);
    assert.equal((await driveAt(6)).status, 200);
    await waitFor(() => before.events.length === 1, 'the first export announced live', 30_000);
    const cursor = before.events[0]!.tripExportFinished.cursor;
    await first.dispose();

    // Away: two more trips end and are exported.
    assert.equal((await driveAt(8)).status, 200);
    assert.equal((await driveAt(10)).status, 200);
    const missed = await waitFor(
      async () => {
        const ids = await announced(t.db, customer.customer.customerId);
        return ids.length === 3 ? ids.slice(1) : undefined;
      },
      'two more exports announced',
      30_000,
    );

    const back = connect(t, customer.customer.apiToken).subscribe<{ tripExportFinished: Event }>(SUBSCRIPTION, { after: cursor });
    await waitFor(() => back.events.length === 2, 'the two missed events', 10_000);
    assert.deepEqual(idsOf(back), missed);
    assert.deepEqual(
      back.events.map((e) => e.tripExportFinished.reason),
      ['finished', 'finished'],
    );

    // Then live: a fourth export, and a signal after it as the positive end marker.
    assert.equal((await driveAt(12)).status, 200);
    await waitFor(() => back.events.length === 3, 'the live export after the replay', 30_000);
    const marker = await writeSignal(t.db.orm, customer.customer, customer.device, customer.trip);
    await waitFor(() => back.events.length >= 4, 'the marker');
    const all = await announced(t.db, customer.customer.customerId);
    assert.deepEqual(idsOf(back), [...all.slice(1, 4), marker.id], 'each once, in order, nothing from before the cursor');
    assert.deepEqual(back.errors, []);
  });

  it('no gap and no duplicate at the switch from replay to live while announcements keep coming', async () => {
    const seed = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    await waitFor(async () => (await announced(t.db, acme.customer.customerId)).includes(seed.id), 'the seed fanned out');
    const page = await gql(t.baseUrl, TripExportEventsDocument, { first: 200 }, acme.customer.apiToken);
    const cursor = page.data!.tripExportEvents.pageInfo.endCursor!;
    // Written one after another while the subscriber connects, replays and switches to live.
    const writing = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push((await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip)).id);
      return ids;
    })();
    const sub = connect(t, acme.customer.apiToken).subscribe<{ tripExportFinished: Event }>(SUBSCRIPTION, { after: cursor });
    const written = await writing;
    await waitFor(() => sub.events.length >= written.length, 'all 25', 20_000);
    const last = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    await waitFor(() => idsOf(sub).includes(last.id), 'the end marker');
    const all = await announced(t.db, acme.customer.customerId);
    assert.deepEqual(idsOf(sub), all.slice(all.indexOf(seed.id) + 1));
    assert.deepEqual(new Set(idsOf(sub)), new Set([...written, last.id]));
    sub.stop();
  });

  it("tripExportEvents pages through the customer's announcements oldest first, never another customer's", async () => {
    const globexSignal = await writeSignal(t.db.orm, globex.customer, globex.device, globex.trip);
    const mine = await Promise.all(Array.from({ length: 5 }, () => writeSignal(t.db.orm, acme.customer, acme.device, acme.trip)));
    await waitFor(async () => {
      const fannedOut = new Set([...(await announced(t.db, acme.customer.customerId)), ...(await announced(t.db, globex.customer.customerId))]);
      return [globexSignal, ...mine].every((s) => fannedOut.has(s.id));
    }, 'fan-out');
    const expected = await announced(t.db, acme.customer.customerId);

    const seen: string[] = [];
    let afterCursor: string | null = null;
    let pages = 0;
    for (;;) {
      const res: GraphQLResponse<TripExportEventsQuery> = await gql(t.baseUrl, TripExportEventsDocument, { first: 4, after: afterCursor }, acme.customer.apiToken);
      assert.equal(res.errors, undefined);
      const conn = res.data!.tripExportEvents;
      pages++;
      for (const edge of conn.edges) {
        assert.equal(edge.cursor, edge.node.cursor);
        assert.equal(edge.node.device.id, acme.device.id);
        seen.push(edge.node.eventId);
      }
      if (!conn.pageInfo.hasNextPage) break;
      afterCursor = conn.pageInfo.endCursor!;
    }
    assert.deepEqual(seen, expected);
    assert.equal(pages, Math.ceil(expected.length / 4));
    assert.ok(!seen.includes(globexSignal.id));

    const theirs = await gql(t.baseUrl, TripExportEventsDocument, { first: 50 }, globex.customer.apiToken);
    assert.deepEqual(
      theirs.data!.tripExportEvents.edges.map((e) => e.node.eventId),
      [globexSignal.id],
    );
    // Globex passing a cursor made from Acme's stream reads its own stream from that point, never Acme's.
    const crossed = await gql(t.baseUrl, TripExportEventsDocument, { first: 50, after: afterCursor }, globex.customer.apiToken);
    assert.ok(crossed.data!.tripExportEvents.edges.every((e) => e.node.eventId === globexSignal.id));

    const tooMany = await gql(t.baseUrl, TripExportEventsDocument, { first: 5000 }, acme.customer.apiToken);
    assert.equal(tooMany.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', 'the page size limit holds');
  });

  it('refuses a malformed cursor with BAD_USER_INPUT, in the query and the subscription', async () => {
    for (const bad of [
      'garbage',
      'eyJub3QiOiJhIGN1cnNvciJ9',
      Buffer.from(JSON.stringify([1, 'device_event', 3])).toString('base64url'),
      Buffer.from('[1,"trip_export_finished",-1]').toString('base64url'),
    ]) {
      const res = await gql(t.baseUrl, TripExportEventsDocument, { after: bad }, acme.customer.apiToken);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', bad);
      assert.match(res.errors[0].message, /not a valid cursor/);
    }
    const sub = connect(t, acme.customer.apiToken).subscribe(SUBSCRIPTION, { after: 'garbage' });
    await waitFor(() => sub.errors.length > 0, 'the error');
    assert.deepEqual(codesOf(sub.errors), ['BAD_USER_INPUT']);
  });

  it('refuses a cursor whose successors retention deleted with CURSOR_EXPIRED, saying why', async () => {
    const customer = await createFleet(t.db.orm, t.config, 'Umbrella');
    const old = [];
    for (let i = 0; i < 3; i++) old.push(await writeSignal(t.db.orm, customer.customer, customer.device, customer.trip));
    await waitFor(async () => (await announced(t.db, customer.customer.customerId)).length === 3, 'fan-out');
    const page = await gql(t.baseUrl, TripExportEventsDocument, { first: 3 }, customer.customer.apiToken);
    const cursors = page.data!.tripExportEvents.edges.map((e) => e.cursor);
    // The first two are past the window; the third is not.
    await t.db.pool.query(`update signals set fanned_out_at = now() - interval '8 days' where id = any($1)`, [old.slice(0, 2).map((s) => s.id)]);
    await jobRegistry(t.app.services)['signals.retention']({});
    assert.deepEqual(await announced(t.db, customer.customer.customerId), [old[2]!.id]);

    const expired = await gql(t.baseUrl, TripExportEventsDocument, { after: cursors[0] }, customer.customer.apiToken);
    assert.equal(expired.errors?.[0]?.extensions?.code, 'CURSOR_EXPIRED');
    assert.match(expired.errors[0].message, /older than the 7-day replay window \(ANNOUNCEMENT_REPLAY_DAYS\)/);
    const sub = connect(t, customer.customer.apiToken).subscribe(SUBSCRIPTION, { after: cursors[0] });
    await waitFor(() => sub.errors.length > 0, 'the error');
    assert.deepEqual(codesOf(sub.errors), ['CURSOR_EXPIRED']);

    // The cursor of the newest deleted one missed nothing: it still works.
    const fine = await gql(t.baseUrl, TripExportEventsDocument, { after: cursors[1] }, customer.customer.apiToken);
    assert.deepEqual(
      fine.data?.tripExportEvents.edges.map((e) => e.node.eventId),
      [old[2]!.id],
    );
  });
});

describe('resuming across instances with Redis, and across a restart', () => {
  const instances = useInstances();

  it('a subscriber of one instance reconnects to a restarted one with its cursor: the missed events, then live ones through Redis', { skip: NO_REDIS }, async () => {
    const db = instances.db();
    let front = await instances.start('api');
    await instances.start('worker');
    const acme = await createFleet(db.orm, front.config, 'Acme');
    const subscribeOn = async (app: TestApp, after?: string) => {
      const socket = connectWs(app.baseUrl, `APIToken ${acme.customer.apiToken}`);
      const sub = socket.subscribe<{ tripExportFinished: Event }>(SUBSCRIPTION, after ? { after } : {});
      await waitFor(() => app.app.ws!.liveSubscriptions() === 1, 'the subscription');
      await instances.redisSubscribed(TRIP_EXPORT_FINISHED, acme.customer.customerId);
      return { socket, sub };
    };

    const one = await subscribeOn(front);
    const first = await writeSignal(db.orm, acme.customer, acme.device, acme.trip);
    await waitFor(() => one.sub.events.length === 1, 'the first event through Redis');
    assert.equal(one.sub.events[0]!.tripExportFinished.eventId, first.id);
    const cursor = one.sub.events[0]!.tripExportFinished.cursor;
    await one.socket.dispose();

    // The front instance goes away; the worker announces two exports meanwhile.
    await instances.stop(front);
    const missed = [await writeSignal(db.orm, acme.customer, acme.device, acme.trip), await writeSignal(db.orm, acme.customer, acme.device, acme.trip)];
    await waitFor(async () => (await announced(db, acme.customer.customerId)).length === 3, 'both fanned out');

    front = await instances.start('api');
    const two = await subscribeOn(front, cursor);
    await waitFor(() => two.sub.events.length === 2, 'the two missed events');
    const next = await writeSignal(db.orm, acme.customer, acme.device, acme.trip);
    await waitFor(() => two.sub.events.length >= 3, 'the live event through Redis');
    assert.deepEqual(idsOf(two.sub), [...missed.map((s) => s.id), next.id]);
    assert.deepEqual(
      two.sub.events.map((e) => e.tripExportFinished.cursor),
      [...new Set(two.sub.events.map((e) => e.tripExportFinished.cursor))],
      'every cursor is new',
    );
    await two.socket.dispose();
  });
});
