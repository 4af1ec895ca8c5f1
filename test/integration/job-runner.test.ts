import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';

import { nowIso } from '../../src/lib/time.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { addSeconds, createTrip, endTrip, insertRecords, makeRecords } from '../factories/trips.js';
import { type AgendaStore, mongoAgendaStore, postgresAgendaStore } from '../support/agenda-store.js';
import { signalsOf, taskOfTrip, waitForTask } from '../support/exports.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const REANNOUNCE_HOUR = 5;
const RETENTION_DAYS = 60;

/** Agenda's daily jobs are cron `0 H * * *` in UTC: the next run is at H:00 UTC, within a day. */
function assertNextDaily(job: { nextRunAt: Date | null } | undefined, hour: number): void {
  const next = job?.nextRunAt;
  assert.ok(next, 'the daily job is scheduled');
  assert.equal(next.getUTCHours(), hour);
  assert.equal(next.getUTCMinutes(), 0);
  assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 86_400_000, `next run ${next.toISOString()}`);
}

/**
 * The same scenario on each job store: a delayed job runs an export at its time, and the
 * daily jobs run when their hour comes and are scheduled for the next day.
 */
function backendSuite(backend: 'PostgreSQL' | 'MongoDB'): void {
  describe(`Agenda on ${backend}`, () => {
    const mongoBase = process.env.MONGODB_URL;
    const skipped = backend === 'MongoDB' && !mongoBase;
    let t: TestApp;
    let store: AgendaStore & { drop?(): Promise<void> };
    let acme: TestCustomer;
    let device: TestDevice;

    const skip = (ctx: TestContext): boolean => {
      if (skipped) ctx.skip('MONGODB_URL not set: MongoDB backend tests skipped');
      return skipped;
    };

    before(async () => {
      if (skipped) return;
      const env: Record<string, string> = {
        REANNOUNCE_HOUR_UTC: String(REANNOUNCE_HOUR),
        RETENTION_DAYS: String(RETENTION_DAYS),
        // Only Agenda's delayed job may run the export: the safety-net sweep waits an hour.
        EXPORT_SWEEP_SECONDS: '3600',
      };
      if (backend === 'MongoDB') {
        const url = new URL(mongoBase!);
        url.pathname = `/trip_export_test_${randomBytes(6).toString('hex')}`;
        env.MONGODB_URL = url.toString();
        store = await mongoAgendaStore(env.MONGODB_URL);
      }
      t = await startTestApp(env);
      store ??= postgresAgendaStore(t.db.pool);
      acme = await createCustomer(t.db.orm, t.config);
      device = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 2 });
    });
    after(async () => {
      if (skipped) return;
      await t.close();
      await store.drop?.();
      await store.close();
    });

    it('runs a delayed job at the due time of the export', async (ctx) => {
      if (skip(ctx)) return;
      const start = addSeconds(nowIso(), -3600);
      const trip = await createTrip(t.db.orm, acme, device, start);
      const records = makeRecords(device, start, 5);
      await insertRecords(t.db.pool, device, records);
      await endTrip(t.app.services, trip, records.at(-1)!.ts);
      const task = await taskOfTrip(t.db.pool, trip.id);
      const scheduled = await waitFor(async () => (await store.jobs('exports.run')).find((j) => Number(j.data?.taskId) === Number(task!.id)), 'the delayed export job');
      const { rows } = await t.db.pool.query<{ due: Date }>('select due_at as due from tasks where id = $1', [task!.id]);
      assert.ok(Math.abs(scheduled.nextRunAt!.getTime() - rows[0]!.due.getTime()) < 1000, 'scheduled for the due time');
      assert.ok(scheduled.nextRunAt!.getTime() > Date.now(), 'in the future: after the reopen window');
      await waitForTask(t.db.pool, trip.id, 'SUCCESS');
      await waitFor(async () => (await store.jobs('exports.run')).length === 0, 'the finished job to be removed');
    });

    it('re-announces uncleared results older than two hours when the daily job comes round', async (ctx) => {
      if (skip(ctx)) return;
      assertNextDaily((await store.jobs('exports.reannounce'))[0], REANNOUNCE_HOUR);
      // Three trips: one to re-announce, one too young, one cleared.
      const trips = [];
      for (const day of [-3, -2, -1]) {
        const start = addSeconds(nowIso(), day * 86400);
        const trip = await createTrip(t.db.orm, acme, device, start);
        const records = makeRecords(device, start, 3);
        await insertRecords(t.db.pool, device, records);
        await endTrip(t.app.services, trip, records.at(-1)!.ts);
        trips.push(trip);
      }
      const tasks = await Promise.all(trips.map((trip) => waitForTask(t.db.pool, trip.id, 'SUCCESS')));
      await t.db.pool.query(`update tasks set result_at = now() - interval '3 hours', announced_at = now() - interval '3 hours' where id = any($1::bigint[])`, [
        [tasks[0]!.id, tasks[2]!.id],
      ]);
      await t.db.pool.query(`update tasks set result_path = null, result_cleared_at = now() where id = $1`, [tasks[2]!.id]);

      await store.makeDue('exports.reannounce');
      await waitFor(async () => (await signalsOf(t.db.pool, tasks[0]!.id)).some((s) => s.reason === 'reannounce'), 'the re-announcement', 20_000);
      assert.deepEqual(
        (await signalsOf(t.db.pool, tasks[1]!.id)).map((s) => s.reason),
        ['finished'],
        'younger than two hours',
      );
      assert.deepEqual(
        (await signalsOf(t.db.pool, tasks[2]!.id)).map((s) => s.reason),
        ['finished'],
        'cleared',
      );
      await waitFor(async () => {
        const [job] = await store.jobs('exports.reannounce');
        return job?.nextRunAt && job.nextRunAt.getTime() > Date.now() + 60_000;
      }, 'the next day to be scheduled');
      assertNextDaily((await store.jobs('exports.reannounce'))[0], REANNOUNCE_HOUR);
    });

    it('drops records and upload batch hashes older than RETENTION_DAYS when the daily retention job comes round', async (ctx) => {
      if (skip(ctx)) return;
      assertNextDaily((await store.jobs('records.retention'))[0], REANNOUNCE_HOUR + 1);
      const cutoff = addSeconds(nowIso(), -RETENTION_DAYS * 86400);
      const ancient = makeRecords(device, addSeconds(cutoff, -120 * 86400), 4);
      const justOld = makeRecords(device, addSeconds(cutoff, -86400), 4);
      const kept = makeRecords(device, addSeconds(cutoff, 86400), 4);
      await insertRecords(t.db.pool, device, [...ancient, ...justOld, ...kept]);
      const ancientPartition = `records_${ancient[0]!.ts.slice(0, 4)}m${ancient[0]!.ts.slice(5, 7)}`;
      const count = async (from: string, to: string) =>
        Number((await t.db.pool.query<{ n: string }>('select count(*) as n from records where device_id = $1 and ts between $2 and $3', [device.id, from, to])).rows[0]!.n);

      // Upload batch hashes: one received before the cutoff, one after.
      await t.db.pool.query(`insert into ingest_batches (device_id, sha256, records, received_at) values ($1, 'old-batch', 4, $2), ($1, 'new-batch', 4, $3)`, [
        device.id,
        addSeconds(cutoff, -3600),
        addSeconds(cutoff, 3600),
      ]);
      const batches = async () =>
        (await t.db.pool.query<{ sha256: string }>('select sha256 from ingest_batches where device_id = $1 order by sha256', [device.id])).rows.map((r) => r.sha256);

      // Records kept aside for their untrusted times expire by when they were received.
      await t.db.pool.query(`insert into records_untrusted_time (device_id, ts, line, received_at) values ($1, '1970-01-01', '{}', $2), ($1, '9999-01-01', '{}', $3)`, [
        device.id,
        addSeconds(cutoff, -3600),
        addSeconds(cutoff, 3600),
      ]);

      await store.makeDue('records.retention');
      await waitFor(async () => (await count('1970-01-01T00:00:00Z', cutoff)) === 0, 'old records to be gone', 20_000);
      await waitFor(async () => !(await batches()).includes('old-batch'), 'old batch hashes to be gone', 20_000);
      assert.deepEqual(await batches(), ['new-batch']);
      const aside = await t.db.pool.query<{ ts: string }>(`select to_char(ts, 'YYYY') as ts from records_untrusted_time where device_id = $1`, [device.id]);
      assert.deepEqual(
        aside.rows.map((r) => r.ts),
        ['9999'],
      );
      const { rows } = await t.db.pool.query<{ part: string | null }>('select to_regclass($1)::text as part', [ancientPartition]);
      assert.equal(rows[0]!.part, null, 'the whole old month was dropped');
      assert.equal(await count(kept[0]!.ts, kept.at(-1)!.ts), kept.length);
    });
  });
}

backendSuite('PostgreSQL');
backendSuite('MongoDB');
