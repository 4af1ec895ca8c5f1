import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { print } from 'graphql';

import { TASK_UPDATED } from '../../src/modules/exports/task-topics.js';
import { TRIP_UPDATED } from '../../src/modules/trips/trip-topics.js';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { at, drive, engine, upload } from '../factories/records.js';
import { ExportTripDocument, TaskUpdatedDocument, type TaskUpdatedSubscription, TripUpdatedDocument, type TripUpdatedSubscription } from '../generated/graphql.js';
import { gql } from '../support/http.js';
import { useInstances } from '../support/instances.js';
import { createFleet, type Fleet } from '../support/notify-fixtures.js';
import { NO_REDIS } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { connectWs, type WsConnection } from '../support/ws-client.js';

type TaskEvent = TaskUpdatedSubscription['taskUpdated'];
type TripEvent = TripUpdatedSubscription['tripUpdated'];
const TASKS = print(TaskUpdatedDocument);
const TRIPS = print(TripUpdatedDocument);

const codesOf = (errors: unknown[]): string[] => errors.flat(2).map((e) => String((e as { extensions?: { code?: string } }).extensions?.code));

describe('live task and trip events for dashboards', () => {
  let t: TestApp;
  let globex: Fleet;
  const sockets: WsConnection[] = [];
  const connect = (token: string): WsConnection => {
    const socket = connectWs(t.baseUrl, `APIToken ${token}`);
    sockets.push(socket);
    return socket;
  };
  const live = (count: number) => waitFor(() => t.app.ws!.liveSubscriptions() >= count, `${count} live subscriptions`);

  before(async () => {
    t = await startTestApp();
    globex = await createFleet(t.db.orm, t.config, 'Globex');
  });
  after(async () => {
    await Promise.allSettled(sockets.map((s) => s.dispose()));
    await t.close();
  });

  it('taskUpdated follows an export PENDING, STARTED, SUCCESS, and a failing one to FAILURE; never another customer’s', async () => {
    const acme = await createCustomer(t.db.orm, t.config, 'Acme');
    const device = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const base = t.app.ws!.liveSubscriptions();
    const mine = connect(acme.apiToken).subscribe<{ taskUpdated: TaskEvent }>(TASKS, { deviceId: device.id });
    const theirs = connect(globex.customer.apiToken).subscribe<{ taskUpdated: TaskEvent }>(TASKS);
    await live(base + 2);

    assert.equal((await upload(t.baseUrl, device, drive('2026-06-02T08:00:00.000000Z', 20, 2))).status, 200);
    await waitFor(() => mine.events.some((e) => e.taskUpdated.state === 'SUCCESS'), 'the export to succeed', 30_000);
    const { rows } = await t.db.pool.query<{ id: string; trip_id: string }>('select id::text, trip_id from tasks where device_id = $1', [device.id]);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      mine.events.map((e) => e.taskUpdated.state),
      ['PENDING', 'STARTED', 'SUCCESS'],
    );
    // The revision of the task's last successful export: none before, 1 with the first SUCCESS.
    assert.deepEqual(
      mine.events.map(({ taskUpdated: e }) => [e.taskId, e.tripId, e.deviceId, e.revision]),
      [0, 0, 1].map((revision) => [rows[0]!.id, rows[0]!.trip_id, device.id, revision]),
    );

    // Globex exports a trip without records: its subscriber sees that task fail, and nothing of Acme's.
    const exported = await gql(t.baseUrl, ExportTripDocument, { tripId: globex.trip.id }, globex.customer.apiToken);
    assert.equal(exported.errors, undefined);
    await waitFor(() => theirs.events.some((e) => e.taskUpdated.state === 'FAILURE'), 'the failure', 30_000);
    assert.deepEqual(
      theirs.events.map((e) => e.taskUpdated.state),
      ['PENDING', 'STARTED', 'FAILURE'],
    );
    assert.ok(theirs.events.every((e) => e.taskUpdated.deviceId === globex.device.id && e.taskUpdated.taskId === exported.data!.exportTrip.id));
  });

  it('tripUpdated tells started, ended, reopened and ended again, in order', async () => {
    const acme = await createCustomer(t.db.orm, t.config, 'Acme trips');
    const device = await createDevice(t.db.orm, acme, { reopenLimitSeconds: 60 });
    const other = await createDevice(t.db.orm, acme, { reopenLimitSeconds: 60 });
    const base = t.app.ws!.liveSubscriptions();
    const sub = connect(acme.apiToken).subscribe<{ tripUpdated: TripEvent }>(TRIPS, { deviceId: device.id });
    const theirs = connect(globex.customer.apiToken).subscribe<{ tripUpdated: TripEvent }>(TRIPS);
    await live(base + 2);

    const start = '2026-06-03T09:00:00.000000Z';
    await upload(t.baseUrl, device, [engine(start, 'running')]);
    await upload(t.baseUrl, device, [engine(at(start, 20), 'stopped')]);
    // Another device of the same customer: filtered out by deviceId.
    await upload(t.baseUrl, other, [engine(start, 'running')]);
    // Started again within the reopen limit, then off; and a batch that does both at once.
    await upload(t.baseUrl, device, [engine(at(start, 30), 'running'), engine(at(start, 40), 'stopped')]);
    await waitFor(() => sub.events.length >= 4, 'four trip events');

    const events = sub.events.map((e) => e.tripUpdated);
    assert.deepEqual(
      events.map((e) => [e.change, e.startTimeUtc, e.endTimeUtc]),
      [
        ['STARTED', start, null],
        ['ENDED', start, at(start, 20)],
        ['REOPENED', start, null],
        ['ENDED', start, at(start, 40)],
      ],
    );
    assert.equal(new Set(events.map((e) => e.tripId)).size, 1, 'one trip throughout');
    assert.ok(events.every((e) => e.deviceId === device.id));

    // Globex hears its own trip start, and never Acme's.
    await upload(t.baseUrl, globex.device, [engine('2026-06-03T10:00:00.000000Z', 'running')]);
    await waitFor(() => theirs.events.length > 0, "Globex's own trip");
    assert.ok(theirs.events.every((e) => e.tripUpdated.deviceId === globex.device.id));
  });

  it("answers NOT_FOUND for another customer's device", async () => {
    const acme = await createCustomer(t.db.orm, t.config, 'Acme nosy');
    const socket = connect(acme.apiToken);
    const tasks = socket.subscribe(TASKS, { deviceId: globex.device.id });
    const trips = socket.subscribe(TRIPS, { deviceId: globex.device.id });
    await waitFor(() => tasks.errors.length > 0 && trips.errors.length > 0, 'both errors');
    assert.deepEqual([codesOf(tasks.errors), codesOf(trips.errors)], [['NOT_FOUND'], ['NOT_FOUND']]);
  });
});

describe('live task and trip events across instances with Redis', () => {
  const instances = useInstances();

  it('a dashboard on the API instance sees the trip the upload ended and the export a worker ran', { skip: NO_REDIS }, async () => {
    const front = await instances.start('api');
    await instances.start('worker');
    const acme: TestCustomer = await createCustomer(instances.db().orm, front.config, 'Acme');
    const device = await createDevice(instances.db().orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const socket = connectWs(front.baseUrl, `APIToken ${acme.apiToken}`);
    try {
      const tasks = socket.subscribe<{ taskUpdated: TaskEvent }>(TASKS);
      const trips = socket.subscribe<{ tripUpdated: TripEvent }>(TRIPS);
      await waitFor(() => front.app.ws!.liveSubscriptions() === 2, 'both subscriptions');
      for (const topic of [TASK_UPDATED, TRIP_UPDATED]) await instances.redisSubscribed(topic, acme.customerId);

      assert.equal((await upload(front.baseUrl, device, drive('2026-06-04T08:00:00.000000Z', 20, 2))).status, 200);
      await waitFor(() => tasks.events.some((e) => e.taskUpdated.state === 'SUCCESS'), 'the worker’s export through Redis', 30_000);
      assert.deepEqual(
        tasks.events.map((e) => e.taskUpdated.state),
        ['PENDING', 'STARTED', 'SUCCESS'],
      );
      assert.deepEqual(
        trips.events.map((e) => e.tripUpdated.change),
        ['STARTED', 'ENDED'],
      );
    } finally {
      await socket.dispose();
    }
  });
});
