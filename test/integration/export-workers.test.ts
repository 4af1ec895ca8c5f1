import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { createTrip, endTrip, insertRecords, makeRecords } from '../factories/trips.js';
import { downloadResult, signalsOf, taskOfTrip, waitForTask } from '../support/exports.js';
import { type ServiceProcess, startServiceProcess } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

describe('export workers as separate processes', () => {
  const exportDir = path.join(tmpdir(), `trip-export-workers-${process.pid}`);
  let api: TestApp;
  let acme: TestCustomer;
  const workers: ServiceProcess[] = [];
  /**
   * The worker a test leaves running for the next, which needs one with the same export rate:
   * starting a worker process costs seconds of CPU, and the next test's worker may as well
   * be one that has exported before.
   */
  let handedOn: ServiceProcess | undefined;
  const takeOver = async (rate: string): Promise<ServiceProcess> => {
    const worker = handedOn ?? (await startWorker({ EXPORT_MAX_BYTES_PER_SECOND: rate }));
    if (!handedOn) workers.push(worker);
    handedOn = undefined;
    return worker;
  };

  /** The real service (`dist/src/main.js --role worker`) as a child process. */
  const startWorker = (extra: Record<string, string> = {}) =>
    startServiceProcess(
      {
        DATABASE_URL: api.db.url,
        EXPORT_DIR: exportDir,
        EXPORT_MIN_DELAY_SECONDS: '1',
        EXPORT_LEASE_SECONDS: '3',
        EXPORT_SWEEP_SECONDS: '1',
        JOB_POLL_MS: '100',
        ...extra,
      },
      ['--role', 'worker'],
    );

  before(async () => {
    // The API instance ends trips and schedules; only the child processes run jobs.
    api = await startTestApp({ EXPORT_DIR: exportDir }, { role: 'api' });
    acme = await createCustomer(api.db.orm, api.config);
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await api.close();
    await rm(exportDir, { recursive: true, force: true });
  });

  it('two workers share the exports and each trip is exported exactly once', async () => {
    const pair = await Promise.all([0, 1].map(() => startWorker({ EXPORT_MAX_BYTES_PER_SECOND: '40000' })));
    workers.push(...pair);
    const device = await createDevice(api.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const trips = [];
    for (let i = 0; i < 6; i++) {
      const trip = await createTrip(api.db.orm, acme, device, `2026-05-0${i + 1}T08:00:00.000000Z`);
      // ~40 kB each: about a second per export at the capped rate.
      const records = makeRecords(device, trip.startTimeUtc, 60, 1, 600);
      await insertRecords(api.db.pool, device, records);
      await endTrip(api.app.services, trip, records.at(-1)!.ts);
      trips.push({ trip, records });
    }
    const done = [];
    for (const { trip } of trips) done.push(await waitForTask(api.db.pool, trip.id, 'SUCCESS', undefined, 60_000));
    assert.deepEqual(
      done.map((task) => task.runs),
      [1, 1, 1, 1, 1, 1],
      'no trip was exported twice',
    );
    for (const task of done) assert.equal((await signalsOf(api.db.pool, task.id)).length, 1);
    const byWorker = new Set(done.map((task) => task.locked_by!.split('/')[0]));
    assert.equal(byWorker.size, 2, 'both workers exported trips');
    for (const [index, { records }] of trips.entries()) {
      const { lines } = await downloadResult(api.baseUrl, done[index]!.id, acme.apiToken);
      assert.deepEqual(
        lines.slice(1),
        records.map((r) => r.line),
      );
    }
    await pair[0]!.stop();
    handedOn = pair[1];
  });

  it('a worker killed with SIGKILL mid-export leaves no result; after a restart the export completes', async () => {
    const device = await createDevice(api.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const trip = await createTrip(api.db.orm, acme, device, '2026-05-20T08:00:00.000000Z');
    // ~300 kB at 40 kB/s: several seconds in which to kill the worker.
    const records = makeRecords(device, trip.startTimeUtc, 300, 1, 1000);
    await insertRecords(api.db.pool, device, records);

    // The only worker running.
    const doomed = await takeOver('40000');
    await endTrip(api.app.services, trip, records.at(-1)!.ts);
    const tripDir = path.join(exportDir, trip.id);
    await waitFor(
      async () => {
        const task = await taskOfTrip(api.db.pool, trip.id);
        const files = await readdir(tripDir).catch(() => []);
        return task?.state === 'STARTED' && files.some((f) => f.endsWith('.tmp'));
      },
      'the export to be writing its temp file',
      20_000,
    );
    await doomed.stop('SIGKILL');
    assert.equal(doomed.child.signalCode, 'SIGKILL');

    const orphan = await taskOfTrip(api.db.pool, trip.id);
    assert.equal(orphan?.state, 'STARTED');
    assert.equal(orphan?.result_path, null);
    assert.deepEqual(
      (await readdir(tripDir)).filter((f) => f.endsWith('.json.gz')),
      [],
      'no result file',
    );
    assert.equal((await downloadResult(api.baseUrl, orphan.id, acme.apiToken)).response.status, 404);

    // At the rate the next test needs, which hands it on to it.
    const successor = await startWorker({ EXPORT_MAX_BYTES_PER_SECOND: '60000' });
    workers.push(successor);
    // It takes over once the dead worker's lease has run out.
    const done = await waitForTask(api.db.pool, trip.id, 'SUCCESS', undefined, 60_000);
    assert.equal(done.runs, 2);
    assert.notEqual(done.locked_by!.split('/')[0], orphan.locked_by!.split('/')[0]);
    const { lines } = await downloadResult(api.baseUrl, done.id, acme.apiToken);
    assert.equal((JSON.parse(lines[0]!) as { id: string }).id, trip.id);
    assert.deepEqual(
      lines.slice(1),
      records.map((r) => r.line),
    );
    assert.deepEqual(await readdir(tripDir), [path.basename(done.result_path!)], 'the killed run left nothing behind');
    assert.equal((await signalsOf(api.db.pool, done.id)).length, 1);
    handedOn = successor;
  });

  it('SIGTERM lets a running export finish before the worker exits; a restart neither loses nor repeats it', async () => {
    const device = await createDevice(api.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const trip = await createTrip(api.db.orm, acme, device, '2026-05-21T08:00:00.000000Z');
    // ~150 kB at 60 kB/s: the export is still running when the signal comes.
    const records = makeRecords(device, trip.startTimeUtc, 150, 1, 1000);
    await insertRecords(api.db.pool, device, records);

    // The only worker running.
    const stopping = await takeOver('60000');
    await endTrip(api.app.services, trip, records.at(-1)!.ts);
    await waitFor(async () => (await taskOfTrip(api.db.pool, trip.id))?.state === 'STARTED', 'the export to start', 20_000);
    assert.equal(await stopping.stop('SIGTERM'), 0, stopping.output());

    const task = await taskOfTrip(api.db.pool, trip.id);
    assert.equal(task?.state, 'SUCCESS', 'the running export was drained, not abandoned');
    assert.equal(task.runs, 1);
    const { lines } = await downloadResult(api.baseUrl, task.id, acme.apiToken);
    assert.deepEqual(
      lines.slice(1),
      records.map((r) => r.line),
    );

    const next = await startWorker();
    workers.push(next);
    // Two sweeps of the restarted worker later (the only worker left), nothing has been run
    // again and one announcement exists.
    // Compared as text: a Date would drop the microseconds PostgreSQL keeps.
    const sweptSince = async (since: string): Promise<string | undefined> => {
      const { rows } = await api.db.pool.query<{ at: string }>(
        `select last_finished_at::text as at from agenda_jobs where name = 'exports.sweep' and last_finished_at > $1::timestamptz`,
        [since],
      );
      return rows[0]?.at;
    };
    const { rows: now } = await api.db.pool.query<{ at: string }>('select now()::text as at');
    const firstSweep = await waitFor(() => sweptSince(now[0]!.at), 'a sweep by the restarted worker', 20_000);
    await waitFor(() => sweptSince(firstSweep), 'a second sweep by the restarted worker', 20_000);
    const after = await taskOfTrip(api.db.pool, trip.id);
    assert.equal(after?.runs, 1, 'not exported twice');
    assert.equal((await signalsOf(api.db.pool, task.id)).length, 1, 'announced once');
    await next.stop();
  });
});
