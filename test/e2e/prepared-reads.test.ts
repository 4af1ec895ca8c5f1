import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { readRows } from '../../src/lib/prepared-reads.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { insertExportedTrips } from '../factories/trips.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** `GET /tasks/`: a plain list, as the original API answers it. */
type LegacyTasks = { id: string; kwargs: { trip_id: string } }[];

/**
 * Reads are prepared statements on the ORM's connections (src/lib/prepared-reads.ts). A table
 * that changes under a prepared `SELECT *` (another instance migrating first in a rolling deploy)
 * makes PostgreSQL refuse it on every connection that prepared it: the read is prepared again
 * and answers, it never turns into an error for the caller.
 */
describe('prepared reads survive a table changing under them', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let van: TestDevice;
  const tripIds: string[] = [];

  before(async () => {
    t = await startTestApp({}, { role: 'api' });
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    van = await createDevice(t.db.orm, acme);
    tripIds.push(...(await insertExportedTrips(t.db.pool, acme, van, '2026-03-01T05:00:00Z', 6)));
  });
  after(() => t.close());

  /** As many concurrent reads as there are pooled connections, so each connection prepares them. */
  const readEverywhere = async (): Promise<void> => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const legacy = await request<LegacyTasks>(t.baseUrl, 'GET', '/tasks/?limit=10', { auth: `APIToken ${acme.apiToken}` });
        const page = await gql<{ trips: { totalCount: number; edges: { node: { id: string; task: { state: string } | null } }[] } }>(
          t.baseUrl,
          '{ trips(first: 10) { totalCount edges { node { id task { state } } } } }',
          {},
          acme.apiToken,
        );
        return { legacy, page };
      }),
    );
    for (const { legacy, page } of answers) {
      assert.equal(legacy.status, 200, JSON.stringify(legacy.body));
      assert.deepEqual(new Set(legacy.body.map((task) => task.kwargs.trip_id)), new Set(tripIds));
      assert.equal(page.errors, undefined, JSON.stringify(page.errors));
      assert.equal(page.data?.trips.totalCount, 6);
      for (const { node } of page.data.trips.edges) assert.equal(node.task?.state, 'SUCCESS');
    }
  };

  it('answers the same before and after a column is added to and dropped from the tables it reads', async () => {
    await readEverywhere();
    await t.db.pool.query('ALTER TABLE tasks ADD COLUMN prepared_read_probe text');
    await t.db.pool.query('ALTER TABLE trips ADD COLUMN prepared_read_probe text');
    await readEverywhere();
    await t.db.pool.query('ALTER TABLE tasks DROP COLUMN prepared_read_probe');
    await t.db.pool.query('ALTER TABLE trips DROP COLUMN prepared_read_probe');
    await readEverywhere();
  });

  it('keeps one plan per read on a connection: a page is not planned anew at every request', async () => {
    await readEverywhere();
    // On the connection a read runs on, the reads it prepared so far, as PostgreSQL counts their plans.
    const plans = await readRows<{ name: string; generic_plans: string; custom_plans: string }>(
      t.db.orm.em.fork(),
      "SELECT name, generic_plans::text, custom_plans::text FROM pg_prepared_statements WHERE name LIKE 'read\\_%'",
      [],
    );
    assert.ok(plans.length > 0, 'the connection holds prepared reads');
    for (const plan of plans) assert.equal(plan.custom_plans, '0', `${plan.name}: planned for its values ${plan.custom_plans} times`);
  });
});

/**
 * Reads asked for on one EntityManager in the same tick go to PostgreSQL together, on one
 * connection and in one round trip (src/lib/read-pipeline.ts); each still answers, or fails, as
 * if it had been sent alone.
 */
describe('reads of the same tick share one round trip', () => {
  let t: TestApp;
  const em = () => t.db.orm.em.fork();
  /** A statement text no other test sends: prepared for the first time here, on whichever connection runs it. */
  const fresh = (label: string) => `SELECT pg_backend_pid() AS pid, ${JSON.stringify(label).replace(/"/g, "'")}::text AS label, ?::int AS n`;

  before(async () => {
    t = await startTestApp({}, { role: 'api' });
  });
  after(() => t.close());

  it('answers each read its own rows, in one connection', async () => {
    const reads = em();
    const [a, b, c] = await Promise.all([
      readRows<{ pid: number; label: string; n: number }>(reads, fresh('a'), [1]),
      readRows<{ pid: number; label: string; n: number }>(reads, fresh('b'), [2]),
      readRows<{ n: string }>(reads, 'SELECT n::text FROM generate_series(1, ?::int) AS n', [3]),
    ]);
    assert.deepEqual([a[0]?.label, a[0]?.n, b[0]?.label, b[0]?.n], ['a', 1, 'b', 2]);
    assert.deepEqual(
      c.map((row) => row.n),
      ['1', '2', '3'],
    );
    assert.equal(a[0]?.pid, b[0]?.pid, 'both reads ran on one connection');
  });

  it('fails only the read that failed: the others of its batch answer', async () => {
    const reads = em();
    const [before, failed, after] = await Promise.allSettled([
      readRows<{ n: number }>(reads, 'SELECT ?::int AS n', [1]),
      readRows(reads, 'SELECT 1 / (?::int - 2) AS n', [2]),
      readRows<{ n: number }>(reads, 'SELECT ?::int AS n', [3]),
    ]);
    assert.deepEqual(before.status === 'fulfilled' && before.value, [{ n: 1 }]);
    assert.equal(failed.status === 'rejected' && (failed.reason as { code?: string }).code, '22012', 'division by zero, as PostgreSQL said it');
    assert.deepEqual(after.status === 'fulfilled' && after.value, [{ n: 3 }]);
  });

  it('keeps what a batch prepared: the same statements run alone afterwards on every connection', async () => {
    const first = fresh('prepared in a batch');
    const second = fresh('prepared in a batch too');
    const reads = em();
    await Promise.all([readRows(reads, first, [1]), readRows(reads, second, [2])]);
    // Alone, on as many connections at once as the pool has: the one that ran the batch must not prepare them again.
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => readRows<{ n: number }>(em(), i % 2 ? first : second, [i])));
    assert.deepEqual(
      answers.map((rows) => rows[0]?.n),
      answers.map((_, i) => i),
    );
  });

  it('answers every read of a batch whose connection PostgreSQL ended under it', async () => {
    const reads = em();
    const slow = readRows<{ pid: number; n: number }>(reads, 'SELECT pg_backend_pid() AS pid, ?::int AS n FROM pg_sleep(0.5)', [1]);
    const quick = readRows<{ n: number }>(reads, 'SELECT ?::int AS n', [2]);
    // The batch's connection is the one running pg_sleep: end it.
    const deadline = Date.now() + 5_000;
    let ended = 0;
    while (!ended && Date.now() < deadline) {
      const { rows } = await t.db.pool.query<{ ended: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE query LIKE '%FROM pg_sleep(0.5)' AND pid <> pg_backend_pid()",
      );
      ended = rows.filter((row) => row.ended).length;
    }
    assert.equal(ended, 1, 'the batch was found running and ended');
    const [slowRows, quickRows] = await Promise.all([slow, quick]);
    assert.equal(slowRows[0]?.n, 1);
    assert.deepEqual(quickRows, [{ n: 2 }]);
  });
});
