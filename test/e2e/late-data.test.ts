import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { print } from 'graphql';

import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { at, drive, rpm, upload } from '../factories/records.js';
import { TripExportFinishedDocument, type TripExportFinishedSubscription } from '../generated/graphql.js';
import { downloadResult, signalsOf, taskOfTrip, waitForTask } from '../support/exports.js';
import { request } from '../support/http.js';
import { createTrigger, webhookTrigger } from '../support/notify-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { startWebhookReceiver, verifyWithStandardWebhooks, type WebhookReceiver } from '../support/webhook-receiver.js';
import { connectWs, type Subscriber, type WsConnection } from '../support/ws-client.js';

interface Envelope {
  type: string;
  data: { event_id: string; reason: string; revision: number; task: { id: number }; trip: { id: string }; result: { records: number; download_url: string } };
}

interface LegacyTask {
  id: number;
  state: string;
  revision: number;
  kwargs: { trip_id: string };
}

/**
 * Devices upload late (offline hours, retries): records that land inside a trip already
 * exported make it export again, the new file replacing the old, announced as `updated` with
 * the next revision on every channel; a burst of late batches gives one re-export.
 */
describe('late data re-exports the trip, with revision and reason', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let receiver: WebhookReceiver;
  let socket: WsConnection;
  let sub: Subscriber<TripExportFinishedSubscription>;
  let acme: TestCustomer;
  let secret: string;

  before(async () => {
    sink = await startSmtpSink();
    receiver = await startWebhookReceiver();
    t = await startTestApp({ SMTP_URL: sink.url });
    acme = await createCustomer(t.db.orm, t.config);
    ({ secret } = await createTrigger(t.baseUrl, acme.apiToken, webhookTrigger(receiver.url, { email: { recipients: ['fleet@acme.test'] } })));
    socket = connectWs(t.baseUrl, `APIToken ${acme.apiToken}`);
    sub = socket.subscribe<TripExportFinishedSubscription>(print(TripExportFinishedDocument));
    await waitFor(() => t.app.ws!.liveSubscriptions() === 1, 'the subscription');
  });
  after(async () => {
    await socket?.dispose();
    await t.close();
    await sink.close();
    await receiver.close();
  });

  /** The verified webhooks of a task, in the order received. */
  const hooksOf = (taskId: string | number): Envelope[] =>
    receiver.received.map((hook) => verifyWithStandardWebhooks(secret, hook) as Envelope).filter((body) => String(body.data.task.id) === String(taskId));

  /** A device with auto-export whose trip (`seconds` long from `start`) has been exported and announced once. */
  async function exportedTrip(start: string, settings: { reopenLimitSeconds: number } = { reopenLimitSeconds: 1 }) {
    const device = await createDevice(t.db.orm, acme, { autoExport: true, ...settings });
    assert.equal((await upload(t.baseUrl, device, drive(start, 60))).status, 200);
    const trips = await request<{ results: { id: string }[] }>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: acme.apiToken });
    const tripId = trips.body.results[0]!.id;
    const task = await waitForTask(t.db.pool, tripId, 'SUCCESS');
    await waitFor(() => hooksOf(task.id).length === 1, 'the first announcement');
    return { device, tripId, taskId: task.id };
  }

  it('a late record reaches the re-exported file, announced once as "updated" with revision 2 on every channel', async () => {
    const start = '2026-10-01T07:00:00.000000Z';
    const { device, tripId, taskId } = await exportedTrip(start);
    const [first] = hooksOf(taskId);
    assert.deepEqual([first!.data.reason, first!.data.revision], ['finished', 1]);
    const before = await downloadResult(t.baseUrl, taskId, acme.apiToken);

    const late = rpm(at(start, 30.5), 4321);
    const answer = await upload(t.baseUrl, device, [late]);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.trips, { started: 0, ended: 0, reopened: 0 }, 'late data changes no trip event');

    const task = await waitFor(async () => {
      const row = await taskOfTrip(t.db.pool, tripId);
      return row?.state === 'SUCCESS' && row.revision === 2 ? row : undefined;
    }, 'revision 2');
    assert.equal(task.runs, 2);
    const { lines } = await downloadResult(t.baseUrl, taskId, acme.apiToken);
    const records = lines.slice(1).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(records.length, before.lines.length, 'one record more than the first file (which had the trip line too)');
    const found = records.find((r) => r['@ts'] === late['@ts']);
    assert.equal(found?.['obd.rpm.value'], 4321, 'the late record is in the new file');
    assert.deepEqual(
      records.map((r) => r['@ts']),
      records.map((r) => r['@ts'] as string).sort(),
      'in order',
    );

    const legacy = await request<LegacyTask>(t.baseUrl, 'GET', `/tasks/${taskId}/`, { token: acme.apiToken });
    assert.equal(legacy.body.revision, 2);

    await waitFor(() => hooksOf(taskId).length === 2 && sink.mails.some((m) => m.subject?.includes('revision 2')), 'the update on webhook and e-mail');
    await waitFor(() => sub.events.filter((e) => e.tripExportFinished.task.id === String(taskId)).length === 2, 'the update on the subscription');
    const updated = hooksOf(taskId)[1]!;
    assert.deepEqual([updated.data.reason, updated.data.revision, updated.data.trip.id], ['updated', 2, tripId]);
    assert.equal(updated.data.result.records, records.length);
    const events = sub.events.map((e) => e.tripExportFinished).filter((e) => e.task.id === String(taskId));
    assert.deepEqual(
      events.map((e) => [e.reason, e.revision]),
      [
        ['finished', 1],
        ['updated', 2],
      ],
    );
    const mail = sink.mails.find((m) => m.subject?.includes('revision 2'))!;
    assert.match(mail.subject!, /^Trip export updated \(revision 2\): Van/);
    assert.match(mail.text!, /Revision: 2 \(updated\)/);
    // The outbox holds what was announced: exactly one update.
    assert.deepEqual(
      (await signalsOf(t.db.pool, taskId)).map((s) => [s.reason, s.payload.revision]),
      [
        ['finished', 1],
        ['updated', 2],
      ],
    );
  });

  it('a burst of late batches gives one re-export: revision 2 only, one announcement', async () => {
    const start = '2026-10-02T07:00:00.000000Z';
    // The re-export is due 3 s after the last late batch: the burst arrives well within it.
    const { device, tripId, taskId } = await exportedTrip(start, { reopenLimitSeconds: 3 });
    const late = [10.25, 20.25, 30.25, 40.25].map((s, i) => rpm(at(start, s), 5000 + i));
    for (const record of late) assert.equal((await upload(t.baseUrl, device, [record])).status, 200);

    // Read after the last batch was stored: SUCCESS means no request is left uncovered.
    const task = await waitFor(async () => {
      const row = await taskOfTrip(t.db.pool, tripId);
      return row?.state === 'SUCCESS' && row.runs > 1 ? row : undefined;
    }, 'the re-export');
    assert.equal(task.revision, 2);
    assert.equal(task.runs, 2, 'one run for the whole burst');
    const { lines } = await downloadResult(t.baseUrl, taskId, acme.apiToken);
    const values = lines.slice(1).map((line) => (JSON.parse(line) as Record<string, unknown>)['obd.rpm.value']);
    for (const record of late) assert.ok(values.includes(record['obd.rpm.value']), `late value ${String(record['obd.rpm.value'])} exported`);
    await waitFor(() => hooksOf(taskId).length === 2, 'the update');
    assert.deepEqual(
      hooksOf(taskId).map((h) => [h.data.reason, h.data.revision]),
      [
        ['finished', 1],
        ['updated', 2],
      ],
    );
    assert.equal((await signalsOf(t.db.pool, taskId)).length, 2);
  });

  it('late data into a trip whose result was cleared exports it again', async () => {
    const start = '2026-10-03T07:00:00.000000Z';
    const { device, tripId, taskId } = await exportedTrip(start);
    const cleared = await request<LegacyTask & { result: unknown }>(t.baseUrl, 'POST', `/tasks/${taskId}/clear_result/`, { token: acme.apiToken });
    assert.equal(cleared.body.result, null);
    assert.equal((await downloadResult(t.baseUrl, taskId, acme.apiToken)).response.status, 404);

    const late = rpm(at(start, 45.5), 777);
    assert.equal((await upload(t.baseUrl, device, [late])).status, 200);
    await waitForTask(t.db.pool, tripId, 'SUCCESS', 2);
    const { response, lines } = await downloadResult(t.baseUrl, taskId, acme.apiToken);
    assert.equal(response.status, 200);
    assert.ok(lines.some((line) => (JSON.parse(line) as Record<string, unknown>)['@ts'] === late['@ts']));
    await waitFor(() => hooksOf(taskId).length === 2, 'the update');
    assert.deepEqual([hooksOf(taskId)[1]!.data.reason, hooksOf(taskId)[1]!.data.revision], ['updated', 2]);
  });

  it('late records before the first trip, between trips, or around a trip are stored and request no export', async () => {
    const device: TestDevice = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const first = '2026-10-04T07:00:00.000000Z';
    const second = '2026-10-04T09:00:00.000000Z';
    assert.equal((await upload(t.baseUrl, device, drive(first, 30))).status, 200);
    assert.equal((await upload(t.baseUrl, device, drive(second, 30))).status, 200);
    const tasksBefore = await t.db.pool.query<{ trip_id: string; request_count: number }>('select trip_id, request_count from tasks where device_id = $1 order by trip_id', [
      device.id,
    ]);
    assert.equal(tasksBefore.rows.length, 2);

    const beforeFirst = [rpm(at(first, -3600), 601), rpm(at(first, -0.5), 602)];
    const between = [rpm(at(first, 600), 603)];
    // One batch whose span straddles the first trip without a record inside it.
    const around = [rpm(at(first, -10), 604), rpm(at(first, 31), 605)];
    for (const batch of [beforeFirst, between, around]) {
      const answer = await upload(t.baseUrl, device, batch);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.trips, { started: 0, ended: 0, reopened: 0 });
    }

    const stored = await t.db.pool.query<{ n: string }>('select count(*) as n from records where device_id = $1 and ts = any($2::timestamptz[])', [
      device.id,
      [...beforeFirst, ...between, ...around].map((r) => r['@ts']),
    ]);
    assert.equal(Number(stored.rows[0]!.n), 5, 'every late record is kept');
    // The uploads answered after their transaction committed, requests included.
    const tasksAfter = await t.db.pool.query('select trip_id, request_count from tasks where device_id = $1 order by trip_id', [device.id]);
    assert.deepEqual(tasksAfter.rows, tasksBefore.rows, 'no task created, none asked for another run');
  });
});
