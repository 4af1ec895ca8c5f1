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
