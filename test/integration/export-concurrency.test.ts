import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { createTrip, endTrip, insertRecords, makeRecords } from '../factories/trips.js';
import { signalsOf } from '../support/exports.js';
import { type ServiceProcess, startServiceProcess } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const BACKLOG = 14;
const CONCURRENCY = 2;

/** Peak resident memory of a live process, from its memory map. */
function peakRssMb(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

describe('a backlog of due exports', () => {
  const exportDir = path.join(tmpdir(), `trip-export-backlog-${process.pid}`);
  let api: TestApp;
  let acme: TestCustomer;
  let worker: ServiceProcess | undefined;

  before(async () => {
    // The API instance ends the trips and schedules their jobs; only the worker process runs them.
    api = await startTestApp({ EXPORT_DIR: exportDir }, { role: 'api' });
    acme = await createCustomer(api.db.orm, api.config);
  });
  after(async () => {
    await worker?.stop('SIGKILL');
    await api.close();
    await rm(exportDir, { recursive: true, force: true });
  });

  it(`never runs more than EXPORT_CONCURRENCY exports at once, and exports every trip once`, async (t) => {
    const device = await createDevice(api.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const trips = [];
    for (let i = 0; i < BACKLOG; i++) {
      const trip = await createTrip(api.db.orm, acme, device, `2026-06-${String(i + 1).padStart(2, '0')}T08:00:00.000000Z`);
      // ~40 kB each: about a second per export at the capped rate, so runs overlap for a while.
      const records = makeRecords(device, trip.startTimeUtc, 60, 1, 600);
      await insertRecords(api.db.pool, device, records);
      await endTrip(api.app.services, trip, records.at(-1)!.ts);
      trips.push(trip);
    }
    const ids = trips.map((trip) => trip.id);
    await waitFor(
      async () => (await api.db.pool.query('select 1 from tasks where trip_id = any($1) and due_at <= now()', [ids])).rowCount === BACKLOG,
      'the whole backlog to be due',
    );

    // A short lease (and so a short job lock) and a sweep every second: the sweep fires many
    // times while the backlog drains.
    worker = await startServiceProcess(
      {
        DATABASE_URL: api.db.url,
        EXPORT_DIR: exportDir,
        EXPORT_CONCURRENCY: String(CONCURRENCY),
        EXPORT_LEASE_SECONDS: '2',
        EXPORT_SWEEP_SECONDS: '1',
        EXPORT_MAX_BYTES_PER_SECOND: '40000',
        JOB_POLL_MS: '100',
      },
      ['--role', 'worker'],
    );

    let mostStarted = 0;
    await waitFor(
      async () => {
        const { rows } = await api.db.pool.query<{ started: number; done: number }>(
          `select count(*) filter (where state = 'STARTED')::int as started, count(*) filter (where state = 'SUCCESS')::int as done
           from tasks where trip_id = any($1)`,
          [ids],
        );
        mostStarted = Math.max(mostStarted, rows[0]!.started);
        return rows[0]!.done === BACKLOG;
      },
      'every export of the backlog to succeed',
      90_000,
      20,
    );
    t.diagnostic(`most exports STARTED at once: ${mostStarted}; worker peak RSS ${peakRssMb(worker.child.pid!)} MB`);

    assert.ok(mostStarted <= CONCURRENCY, `at most ${CONCURRENCY} exports STARTED at any sample, saw ${mostStarted}`);
    assert.equal(mostStarted, CONCURRENCY, 'the worker does use its slots');
    for (const trip of trips) {
      const { rows } = await api.db.pool.query<{ id: string }>('select id from tasks where trip_id = $1', [trip.id]);
      assert.deepEqual(
        (await signalsOf(api.db.pool, rows[0]!.id)).map((s) => s.reason),
        ['finished'],
        'announced once',
      );
    }
    assert.equal(await worker.stop('SIGTERM'), 0, worker.output());
    assert.doesNotMatch(worker.output(), /execution took more than|canceled already/, 'no job outlived its lock');
  });
});
