import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';

import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { addSeconds, createTrip, endTrip, insertRecords, makeRecords, reopenTrip } from '../factories/trips.js';
import { downloadResult, signalsOf, taskOfTrip, waitForTask } from '../support/exports.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

describe('automatic trip exports (real PostgreSQL, real Agenda)', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let van: TestDevice;

  before(async () => {
    // ~60 records per second: an export of a few thousand records runs long enough to act during it.
    t = await startTestApp({ EXPORT_MAX_BYTES_PER_SECOND: '40000' });
    acme = await createCustomer(t.db.orm, t.config);
    van = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
  });
  after(() => t.close());

  it('exports an ended trip once its reopen window has passed: trip line, then its records in order, byte for byte', async () => {
    const start = '2026-03-10T08:00:00.000001Z';
    const trip = await createTrip(t.db.orm, acme, van, start);
    const before = makeRecords(van, addSeconds(start, -30), 10);
    const during = makeRecords(van, start, 40);
    const end = during.at(-1)!.ts;
    const afterEnd = makeRecords(van, addSeconds(end, 0.000001), 10);
    // stored out of order, as late uploads arrive
    await insertRecords(t.db.pool, van, [...afterEnd, ...during.slice(20), ...before, ...during.slice(0, 20)]);

    await endTrip(t.app.services, trip, end);
    const pending = await taskOfTrip(t.db.pool, trip.id);
    assert.equal(pending?.state, 'PENDING');

    const done = await waitForTask(t.db.pool, trip.id, 'SUCCESS');
    assert.equal(done.runs, 1);
    const { response, gzip, lines } = await downloadResult(t.baseUrl, done.id, acme.apiToken);
    assert.equal(response.status, 200);
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(header.id, trip.id);
    assert.equal(header.start_time_utc, start);
    assert.equal(header.end_time_utc, end);
    assert.equal(header.state, 'completed');
    assert.equal(header.unit_id, van.unitId);
    assert.equal(header.vehicle, van.vehicleId);
    assert.equal(header.device, van.id);
    assert.equal(header.duration, '00:00:39');
    assert.deepEqual(
      lines.slice(1),
      during.map((r) => r.line),
      'exactly the records inside the trip, ascending by @ts, as stored',
    );

    assert.equal(Number(done.result_records), during.length);
    assert.equal(Number(done.result_bytes), gzip.length);
    assert.equal(done.result_sha256, createHash('sha256').update(gzip).digest('hex'));

    const signals = await signalsOf(t.db.pool, done.id);
    assert.equal(signals.length, 1);
    assert.equal(signals[0]!.reason, 'finished');
    const payload = signals[0]!.payload as {
      task: { id: number; state: string };
      trip: { id: string };
      device: { unit_id: string };
      result: { sha256: string; records: number; first_ts: string; last_ts: string };
    };
    assert.equal(payload.task.id, Number(done.id));
    assert.equal(payload.task.state, 'SUCCESS');
    assert.equal(payload.trip.id, trip.id);
    assert.equal(payload.device.unit_id, van.unitId);
    assert.deepEqual(payload.result, { bytes: gzip.length, sha256: done.result_sha256, records: during.length, first_ts: during[0]!.ts, last_ts: end });
  });

  it('creates no task for a device without auto export', async () => {
    const manual = await createDevice(t.db.orm, acme, { autoExport: false });
    const trip = await createTrip(t.db.orm, acme, manual, '2026-03-11T08:00:00.000000Z');
    await endTrip(t.app.services, trip, '2026-03-11T08:10:00.000000Z');
    assert.equal(await taskOfTrip(t.db.pool, trip.id), undefined);
  });

  it('does not export a trip reopened before its export is due; the next end exports it whole', async () => {
    const car = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const start = '2026-03-12T08:00:00.000000Z';
    const trip = await createTrip(t.db.orm, acme, car, start);
    const first = makeRecords(car, start, 5);
    const second = makeRecords(car, addSeconds(start, 60), 5);
    await insertRecords(t.db.pool, car, [...first, ...second]);

    await endTrip(t.app.services, trip, first.at(-1)!.ts);
    await reopenTrip(t.db.pool, trip);
    const task = await taskOfTrip(t.db.pool, trip.id);
    // Its job fires at the due time, finds the trip in progress and leaves the task alone.
    const jobsOf = async () => (await t.db.pool.query(`select 1 from agenda_jobs where name = 'exports.run' and (data->>'taskId')::bigint = $1`, [task!.id])).rowCount;
    await waitFor(async () => (await jobsOf()) === 1, 'the export job to be scheduled');
    await waitFor(async () => (await jobsOf()) === 0, 'the export job to have run');
    const untouched = await taskOfTrip(t.db.pool, trip.id);
    assert.equal(untouched?.state, 'PENDING');
    assert.equal(untouched?.runs, 0);

    await endTrip(t.app.services, trip, second.at(-1)!.ts);
    const done = await waitForTask(t.db.pool, trip.id, 'SUCCESS');
    assert.equal(done.runs, 1);
    const { lines } = await downloadResult(t.baseUrl, done.id, acme.apiToken);
    assert.deepEqual(
      lines.slice(1),
      [...first, ...second].map((r) => r.line),
    );
  });

  it('follows an end during a running export with exactly one more export, which overwrites the result', async () => {
    const bus = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const start = '2026-03-13T08:00:00.000000Z';
    const trip = await createTrip(t.db.orm, acme, bus, start);
    const first = makeRecords(bus, start, 150, 1, 400);
    await insertRecords(t.db.pool, bus, first);
    await endTrip(t.app.services, trip, first.at(-1)!.ts);
    await waitForTask(t.db.pool, trip.id, 'STARTED');

    // Two more ends while the first export runs: still one follow-up.
    const more = makeRecords(bus, addSeconds(first.at(-1)!.ts, 30), 20);
    await insertRecords(t.db.pool, bus, more);
    await reopenTrip(t.db.pool, trip);
    await endTrip(t.app.services, trip, more[9]!.ts);
    await reopenTrip(t.db.pool, trip);
    await endTrip(t.app.services, trip, more.at(-1)!.ts);
    const running = await taskOfTrip(t.db.pool, trip.id);
    assert.equal(running?.state, 'STARTED', 'the first export was still running');

    const done = await waitForTask(t.db.pool, trip.id, 'SUCCESS', 2, 60_000);
    assert.equal(done.request_count, done.covered_request_count);
    const { lines } = await downloadResult(t.baseUrl, done.id, acme.apiToken);
    assert.deepEqual(
      lines.slice(1),
      [...first, ...more].map((r) => r.line),
    );
    const signals = await signalsOf(t.db.pool, done.id);
    assert.deepEqual(
      signals.map((s) => s.reason),
      ['finished'],
      'only the result that stays is announced',
    );
    const files = await readdir(`${t.config.exportDir}/${trip.id}`);
    assert.deepEqual(files, [done.result_path!.split('/')[1]], 'the first result file is gone');
  });
});

describe('failing exports', () => {
  it('retries with backoff, then stays FAILURE with the reason', async () => {
    // An export folder that cannot be created fails every run, for real.
    const app = await startTestApp({ EXPORT_DIR: '/dev/null/exports', EXPORT_MAX_ATTEMPTS: '3' });
    try {
      const customer = await createCustomer(app.db.orm, app.config);
      const device = await createDevice(app.db.orm, customer, { autoExport: true, reopenLimitSeconds: 1 });
      const trip = await createTrip(app.db.orm, customer, device, '2026-03-14T08:00:00.000000Z');
      const records = makeRecords(device, trip.startTimeUtc, 3);
      await insertRecords(app.db.pool, device, records);
      await endTrip(app.app.services, trip, records.at(-1)!.ts);
      const failed = await waitForTask(app.db.pool, trip.id, 'FAILURE');
      assert.equal(failed.runs, 3);
      assert.equal(failed.attempts, 3);
      assert.match(failed.error ?? '', /ENOTDIR|not a directory/i);
      assert.equal(failed.result_path, null);
      assert.deepEqual(await signalsOf(app.db.pool, failed.id), []);
    } finally {
      await app.close();
    }
  });
});
