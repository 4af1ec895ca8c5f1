import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { print } from 'graphql';

import { verifyDownloadSignature } from '../../src/notify/download-link.js';
import { createDevice } from '../factories/accounts.js';
import { createTrip, writeSignal } from '../factories/signals.js';
import { TripExportFinishedDocument, type TripExportFinishedSubscription } from '../generated/graphql.js';
import { request } from '../support/http.js';
import { createFleet, type Fleet } from '../support/notify-fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { connectWs, type WsConnection } from '../support/ws-client.js';

type Event = TripExportFinishedSubscription['tripExportFinished'];
const SUBSCRIPTION = print(TripExportFinishedDocument);

/** extensions.code of every error a subscriber saw, however graphql-ws delivered it. */
const codesOf = (errors: unknown[]): string[] => errors.flat(2).map((e) => String((e as { extensions?: { code?: string } }).extensions?.code));

describe('subscription tripExportFinished over graphql-ws', () => {
  let t: TestApp;
  let acme: Fleet;
  let globex: Fleet;
  const sockets: WsConnection[] = [];
  const connect = (app: TestApp, authorization: string | undefined): WsConnection => {
    const socket = connectWs(app.baseUrl, authorization);
    sockets.push(socket);
    return socket;
  };
  /** A socket authenticated with the API token, subscribed to all of its customer's announcements. */
  const listen = (token: string) => {
    const socket = connect(t, `APIToken ${token}`);
    return { socket, subscriber: socket.subscribe<{ tripExportFinished: Event }>(SUBSCRIPTION) };
  };
  const live = (app: TestApp, count: number) => waitFor(() => app.app.ws!.liveSubscriptions() >= count, `${count} live subscriptions`);

  before(async () => {
    t = await startTestApp({ PUBLIC_URL: 'https://exports.example.test', GRAPHQL_WS_RECHECK_SECONDS: '1' });
    acme = await createFleet(t.db.orm, t.config, 'Acme');
    globex = await createFleet(t.db.orm, t.config, 'Globex');
  });
  after(async () => {
    await Promise.allSettled(sockets.map((s) => s.dispose()));
    await t.close();
  });

  it("delivers a customer's events to its subscribers only, each once", async () => {
    const base = t.app.ws!.liveSubscriptions();
    const mine = listen(acme.customer.apiToken).subscriber;
    const theirs = listen(globex.customer.apiToken).subscriber;
    await live(t, base + 2);

    const acmeSignal = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    // Signals fan out in outbox order: once Globex sees its own, Acme's had its turn already.
    const globexSignal = await writeSignal(t.db.orm, globex.customer, globex.device, globex.trip);
    await waitFor(() => theirs.events.length > 0 && mine.events.length > 0, 'both events');
    const acmeLater = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip, { reason: 'reannounce' });
    await waitFor(() => mine.events.length >= 2, "Acme's second event");

    assert.deepEqual(
      theirs.events.map((e) => e.tripExportFinished.eventId),
      [globexSignal.id],
    );
    assert.deepEqual(
      mine.events.map((e) => e.tripExportFinished.eventId),
      [acmeSignal.id, acmeLater.id],
    );
    const [first, second] = mine.events.map((e) => e.tripExportFinished);
    assert.equal(second?.reason, 'reannounce');
    assert.equal(first?.reason, 'finished');
    assert.deepEqual(first?.task, { id: acmeSignal.taskId, state: 'SUCCESS', createdAt: acmeSignal.payload.task.created_at });
    assert.deepEqual(first?.trip, { id: acme.trip.id, startTimeUtc: acme.trip.startTimeUtc, endTimeUtc: acme.trip.endTimeUtc });
    assert.deepEqual(first?.device, { id: acme.device.id, name: 'Van', vehicleId: acme.device.vehicleId });
    const { downloadUrl, ...result } = first.result;
    assert.deepEqual(result, { bytes: 12345, sha256: 'ab'.repeat(32), records: 678, firstTs: acme.trip.startTimeUtc, lastTs: acme.trip.endTimeUtc });
    const url = new URL(downloadUrl);
    assert.ok(verifyDownloadSignature(t.config, acmeSignal.taskId, acme.customer.customerId, url.searchParams.get('expires'), url.searchParams.get('signature')));
    assert.deepEqual([mine.errors, theirs.errors], [[], []]);

    mine.stop();
    theirs.stop();
    await waitFor(() => t.app.ws!.liveSubscriptions() === base, 'the subscriptions to end');
  });

  it('reaches every one of many subscribers of a customer, without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const base = t.app.ws!.liveSubscriptions();
      // A dashboard per operator: more listeners on one customer's topic than Node's default of 10.
      const subscriptions = Array.from({ length: 15 }, () => listen(acme.customer.apiToken).subscriber);
      await live(t, base + subscriptions.length);
      const signal = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
      await waitFor(() => subscriptions.every((s) => s.events.length > 0), 'every subscriber to get the event');
      for (const s of subscriptions)
        assert.deepEqual(
          s.events.map((e) => e.tripExportFinished.eventId),
          [signal.id],
        );
      for (const s of subscriptions) s.stop();
      await waitFor(() => t.app.ws!.liveSubscriptions() === base, 'the subscriptions to end');
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('narrows to one device, and answers NOT_FOUND for a device of another customer', async () => {
    const second = await createDevice(t.db.orm, acme.customer);
    const secondTrip = await createTrip(t.db.orm, acme.customer, second);
    const socket = connect(t, `APIToken ${acme.customer.apiToken}`);
    const onlySecond = socket.subscribe<{ tripExportFinished: Event }>(SUBSCRIPTION, { deviceId: second.id });
    const foreign = socket.subscribe(SUBSCRIPTION, { deviceId: globex.device.id });
    await live(t, 1);
    await waitFor(() => foreign.errors.length > 0, 'the NOT_FOUND error');
    assert.deepEqual(codesOf(foreign.errors), ['NOT_FOUND']);

    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    const wanted = await writeSignal(t.db.orm, acme.customer, second, secondTrip);
    await waitFor(() => onlySecond.events.length > 0, 'the second device event');
    assert.deepEqual(
      onlySecond.events.map((e) => e.tripExportFinished.eventId),
      [wanted.id],
    );
    onlySecond.stop();
  });

  it('closes the socket with 4403 for a missing, wrong or revoked credential', async () => {
    assert.equal(await connect(t, undefined).closed, 4403);
    assert.equal(await connect(t, 'APIToken tex_not-a-token').closed, 4403);
    assert.equal(await connect(t, 'Bearer not.a.jwt').closed, 4403);
    const created = await request<{ id: string; token: string }>(t.baseUrl, 'POST', '/auth/api_tokens/', { token: acme.customer.apiToken, body: { name: 'ws' } });
    const revoked = await request(t.baseUrl, 'DELETE', `/auth/api_tokens/${created.body.id}/`, { token: acme.customer.apiToken });
    assert.equal(revoked.status, 204);
    assert.equal(await connect(t, `APIToken ${created.body.token}`).closed, 4403);
  });

  it('closes an open socket with 4403 once its token is revoked, and delivers nothing after', async () => {
    const created = await request<{ id: string; token: string }>(t.baseUrl, 'POST', '/auth/api_tokens/', { token: acme.customer.apiToken, body: { name: 'dashboard' } });
    const base = t.app.ws!.liveSubscriptions();
    const { subscriber: keptEvents } = listen(acme.customer.apiToken);
    const { socket: doomed, subscriber: doomedEvents } = listen(created.body.token);
    await live(t, base + 2);
    const revoked = await request(t.baseUrl, 'DELETE', `/auth/api_tokens/${created.body.id}/`, { token: acme.customer.apiToken });
    assert.equal(revoked.status, 204);
    // GRAPHQL_WS_RECHECK_SECONDS is 1 here.
    const stillOpen = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 10 s'), 10_000).unref());
    assert.equal(await Promise.race([doomed.closed, stillOpen]), 4403);
    const signal = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    await waitFor(() => keptEvents.events.length > 0, 'the event on the socket whose token is valid');
    assert.deepEqual(
      keptEvents.events.map((e) => e.tripExportFinished.eventId),
      [signal.id],
    );
    assert.deepEqual(doomedEvents.events, []);
    keptEvents.stop();
    await waitFor(() => t.app.ws!.liveSubscriptions() === base, 'the subscriptions to end');
  });

  it('applies depth and cost limits and a per-connection cap on the WebSocket path', async () => {
    const limited = await startTestApp({ GRAPHQL_MAX_DEPTH: '2', GRAPHQL_MAX_COST: '10', GRAPHQL_WS_MAX_SUBSCRIPTIONS: '2' }, { db: t.db, role: 'api' });
    try {
      const socket = connect(limited, `APIToken ${acme.customer.apiToken}`);
      const deep = socket.subscribe('subscription { tripExportFinished { device { template { name } } } }');
      // Shallow enough, but eleven fields cost more than 10.
      const costly = socket.subscribe(`subscription { tripExportFinished { ${[...'abcdefghij'].map((x) => `${x}: eventId`).join(' ')} } }`);
      const invalid = socket.subscribe('subscription { tripExportFinished { nope } }');
      await waitFor(() => deep.errors.length && costly.errors.length && invalid.errors.length, 'three refusals');
      assert.deepEqual(codesOf(deep.errors), ['QUERY_TOO_DEEP']);
      assert.deepEqual(codesOf(costly.errors), ['QUERY_TOO_COSTLY']);
      assert.deepEqual(codesOf(invalid.errors), ['BAD_USER_INPUT']);
      assert.match(JSON.stringify(invalid.errors), /Cannot query field \\"nope\\"/);

      // Refused operations hold no place under the cap: two may still run, not a third.
      const a = socket.subscribe('subscription { tripExportFinished { eventId } }');
      const b = socket.subscribe('subscription { tripExportFinished { eventId } }');
      await live(limited, 2);
      const c = socket.subscribe('subscription { tripExportFinished { eventId } }');
      await waitFor(() => c.errors.length > 0, 'the cap');
      assert.deepEqual(codesOf(c.errors), ['TOO_MANY_SUBSCRIPTIONS']);
      assert.deepEqual([a.errors, b.errors], [[], []]);
      a.stop();
      await waitFor(() => limited.app.ws!.liveSubscriptions() === 1, 'one to end');
      const d = socket.subscribe('subscription { tripExportFinished { eventId } }');
      await live(limited, 2);
      assert.deepEqual(d.errors, []);
    } finally {
      await limited.close();
    }
  });
});
