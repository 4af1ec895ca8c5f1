import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

interface TaskJson {
  id: number;
  task: string;
  kwargs: { trip_id: string };
  state: string;
}

describe('GET /tasks/ lists every task of the customer, as the original promises', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;
  let acmeVan: TestDevice;

  /** `count` completed trips of `device`, each with its task, written in one statement. */
  async function tripsWithTasks(customer: TestCustomer, device: TestDevice, count: number, state = 'SUCCESS'): Promise<void> {
    await t.db.pool.query(
      `WITH made AS (
         INSERT INTO trips (id, customer_id, device_id, start_time_utc, end_time_utc, state)
         SELECT gen_random_uuid(), $1, $2, timestamptz '2026-01-01' + n * interval '1 hour', timestamptz '2026-01-01' + n * interval '1 hour' + interval '30 minutes', 'completed'
         FROM generate_series(1, $3::int) n
         RETURNING id, start_time_utc)
       INSERT INTO tasks (customer_id, trip_id, device_id, state)
       SELECT $1, id, $2, $4::task_state FROM made ORDER BY start_time_utc`,
      [customer.customerId, device.id, count, state],
    );
  }

  const list = (query = '', customer = acme) => request<TaskJson[]>(t.baseUrl, 'GET', `/tasks/${query}`, { token: customer.apiToken });

  before(async () => {
    t = await startTestApp();
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
    acmeVan = await createDevice(t.db.orm, acme);
    await tripsWithTasks(globex, await createDevice(t.db.orm, globex), 30);
  });
  after(() => t.close());

  it('returns all 150 tasks as one plain JSON array, newest first, none of another customer', async () => {
    await tripsWithTasks(acme, acmeVan, 150);
    const all = await list();
    assert.equal(all.status, 200);
    assert.ok(Array.isArray(all.body));
    assert.equal(all.body.length, 150, 'not cut at 100');
    const ids = all.body.map((task) => task.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    );
    const { rows } = await t.db.pool.query<{ trip_id: string }>('SELECT trip_id FROM tasks WHERE customer_id = $1', [acme.customerId]);
    assert.deepEqual(new Set(all.body.map((task) => task.kwargs.trip_id)), new Set(rows.map((r) => r.trip_id)), 'exactly the customer’s tasks');
    assert.ok(all.body.every((task) => task.task === 'core.tasks.es_trip_export'));
  });

  it('still answers one page for scripts that ask for limit or offset', async () => {
    const all = await list();
    const page = await list('?limit=20&offset=20');
    assert.deepEqual(
      page.body.map((task) => task.id),
      all.body.slice(20, 40).map((task) => task.id),
    );
    assert.equal((await list('?offset=0')).body.length, 100, 'offset alone: a page of the default size');
    assert.equal((await list('?limit=1001')).status, 400);
  });

  it('filters the whole list by state', async () => {
    await tripsWithTasks(acme, acmeVan, 3, 'FAILURE');
    const failed = await list('?state=FAILURE');
    assert.equal(failed.body.length, 3);
    assert.ok(failed.body.every((task) => task.state === 'FAILURE'));
    assert.equal((await list('?state=NOPE')).status, 400);
  });

  it('streams 10,000 tasks: every one, each once', async () => {
    const before = (await list()).body.length;
    await tripsWithTasks(acme, acmeVan, 10_000 - before);
    const all = await list();
    assert.equal(all.status, 200);
    assert.equal(all.body.length, 10_000);
    assert.equal(new Set(all.body.map((task) => task.id)).size, 10_000);
    assert.equal((await list('', globex)).body.length, 30);
  });
});
