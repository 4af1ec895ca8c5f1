import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { GraphQLObjectType } from 'graphql';
import pg from 'pg';

import { ReadPipeline } from '../../src/lib/read-pipeline.js';
import { buildAppSchema } from '../../src/schema.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { insertExportedTrips } from '../factories/trips.js';
import { dashboardOperation } from '../support/dashboard-operations.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Every statement the service sends PostgreSQL while `run` is in flight, counted where both the
 * ORM (knex) and the service's own pool send them: the driver's `Client#query`. A batch of reads
 * sent together (src/lib/read-pipeline.ts) counts as the statements it holds. The app runs
 * with the `api` role, so no job runner or dispatcher queries meanwhile.
 */
async function statementsOf(run: () => Promise<unknown>): Promise<string[]> {
  return (await sentWhile(run)).map((statement) => statement.text);
}

/** As {@link statementsOf}, with the values each statement was sent with and the round trip (`Client#query` call) it went in. */
async function sentWhile(run: () => Promise<unknown>): Promise<{ text: string; values: readonly unknown[]; trip: number }[]> {
  const sent: { text: string; values: readonly unknown[]; trip: number }[] = [];
  let trips = 0;
  // Kept to be called with the client as `this`, below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const trip = trips++;
    const config = args[0] as string | { text?: string; values?: unknown[] };
    if (config instanceof ReadPipeline) for (const read of config.reads) sent.push({ text: read.text, values: read.values, trip });
    else {
      const values = Array.isArray(args[1]) ? (args[1] as unknown[]) : typeof config === 'string' ? [] : (config.values ?? []);
      sent.push({ text: typeof config === 'string' ? config : (config.text ?? ''), values, trip });
    }
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await run();
  } finally {
    pg.Client.prototype.query = query;
  }
  return sent;
}

/** `whole` (an object's field read with every sub-field) cut to the keys of `part` (the same field with fewer): what `part` must equal. */
function sameKeys(whole: unknown, part: unknown): unknown {
  if (typeof whole !== 'object' || whole === null || Array.isArray(whole) || typeof part !== 'object' || part === null) return whole;
  return Object.fromEntries(Object.keys(part).map((key) => [key, (whole as Record<string, unknown>)[key]]));
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/**
 * The scans of `table` a page is cut from in the plan PostgreSQL runs for `statement` with its values, as the
 * service's prepared statements run it after their first executions (a generic plan) and as a
 * plan for the values at hand (a custom plan).
 */
async function scansOf(pool: pg.Pool, table: string, statement: { text: string; values: readonly unknown[] }): Promise<PlanNode[]> {
  const client = await pool.connect();
  try {
    await client.query(`PREPARE probe AS ${statement.text}`);
    const literal = (value: unknown): string => (typeof value === 'number' ? String(value) : client.escapeLiteral(Array.isArray(value) ? `{${value.join(',')}}` : String(value)));
    const values = statement.values.map(literal);
    const scans: PlanNode[] = [];
    for (const mode of ['force_generic_plan', 'force_custom_plan']) {
      await client.query(`SET plan_cache_mode = ${mode}`);
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE probe(${values.join(', ')})`);
      // The rows a page is cut from (below its LIMIT), not those its count reads.
      const visit = (node: PlanNode, paged: boolean): void => {
        if (paged && node['Relation Name'] === table) scans.push(node);
        for (const child of node.Plans ?? []) visit(child, paged || node['Node Type'] === 'Limit');
      };
      visit(rows[0]!['QUERY PLAN'][0].Plan, false);
    }
    return scans;
  } finally {
    await client.query('DEALLOCATE probe; RESET plan_cache_mode').catch(() => undefined);
    client.release();
  }
}

const TRIPS_PAGE = `query ($first: Int, $after: String) {
  trips(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id startTimeUtc device { id name settings { autoExport } } task { id state trip { id } } } }
  }
}`;

interface TripsPage {
  trips: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: { id: string; device: { id: string; name: string }; task: { id: string; state: string; trip: { id: string } } | null } }[];
  };
}

describe('read paths load related rows in batches, never a query per row (issue 15)', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;
  let vans: TestDevice[];
  let globexVan: TestDevice;
  const acmeTrips = new Set<string>();

  const exportedTrips = (customer: TestCustomer, device: TestDevice, start: string, count: number): Promise<string[]> =>
    insertExportedTrips(t.db.pool, customer, device, start, count);

  before(async () => {
    t = await startTestApp({}, { role: 'api' });
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
    vans = [await createDevice(t.db.orm, acme), await createDevice(t.db.orm, acme), await createDevice(t.db.orm, acme)];
    for (const [i, van] of vans.entries()) for (const id of await exportedTrips(acme, van, `2026-0${i + 1}-01T06:00:00Z`, 15)) acmeTrips.add(id);
    globexVan = await createDevice(t.db.orm, globex);
    await exportedTrips(globex, globexVan, '2026-01-01T06:00:00Z', 5);
    // A token's first use records it (at most once a minute): not part of what a page costs.
    for (const customer of [acme, globex]) await gql(t.baseUrl, '{ __typename }', {}, customer.apiToken);
  });
  after(() => t.close());

  it('a page of trips with devices, settings and tasks costs the same statements for 5 trips as for 20', async () => {
    const pages = new Map<number, TripsPage>();
    const statements = new Map<number, string[]>();
    for (const first of [5, 20]) {
      const sent = await statementsOf(async () => {
        const response = await gql<TripsPage>(t.baseUrl, TRIPS_PAGE, { first }, acme.apiToken);
        assert.equal(response.errors, undefined);
        pages.set(first, response.data!);
      });
      statements.set(first, sent);
    }
    const sent = statements.get(20)!;
    assert.equal(sent.length, statements.get(5)!.length, 'the statements of a page do not grow with its size');
    // Authentication, the page with its count and each trip's device and task, the devices' settings (templates).
    assert.ok(sent.length <= 3, `at most 3 statements, got ${sent.length}:\n${sent.join('\n')}`);
    assert.ok(!sent.some((sql) => /FROM tasks k WHERE k\.trip_id = ANY/.test(sql)), 'the tasks come with the page, not in a statement of their own');
    const page = pages.get(20)!.trips;
    assert.equal(page.totalCount, 45);
    assert.equal(page.edges.length, 20);
    for (const { node } of page.edges) {
      assert.ok(acmeTrips.has(node.id), 'only the caller’s trips');
      assert.ok(vans.some((van) => van.id === node.device.id));
      assert.equal(node.task?.state, 'SUCCESS');
      assert.equal(node.task?.trip.id, node.id);
    }
  });

  it("the dashboard's fleet, device and task pages, and the legacy lists, do not grow with their size", async () => {
    const cases: [string, (size: number) => Promise<unknown>][] = [
      ['Fleet', () => gql(t.baseUrl, dashboardOperation('fleet.graphql', 'Fleet'), {}, acme.apiToken)],
      ['Device', (first) => gql(t.baseUrl, dashboardOperation('fleet.graphql', 'Device'), { id: vans[0]!.id, first }, acme.apiToken)],
      ['TaskList', (first) => gql(t.baseUrl, dashboardOperation('trips.graphql', 'TaskList'), { first }, acme.apiToken)],
      ['GET /tasks/', (limit) => request(t.baseUrl, 'GET', `/tasks/?limit=${limit}`, { auth: `APIToken ${acme.apiToken}` })],
      ['GET /logbook/trips/', (limit) => request(t.baseUrl, 'GET', `/logbook/trips/?limit=${limit}`, { auth: `APIToken ${acme.apiToken}` })],
    ];
    for (const [name, run] of cases) {
      const small = await statementsOf(() => run(3));
      const large = await statementsOf(() => run(15));
      assert.equal(large.length, small.length, `${name}: ${small.length} statements for 3 rows, ${large.length} for 15:\n${large.join('\n')}`);
      assert.ok(large.length <= 7, `${name}: at most 7 statements, got ${large.length}`);
    }
    // Related rows come with their page: a task list with each task's trip and that trip's device
    // is authentication and the page; the fleet's latest trips come with their tasks.
    let listed: { tasks: { edges: { node: { id: string; trip: { id: string; device: { id: string; name: string } } } }[] } } | undefined;
    const taskList = await statementsOf(async () => {
      listed = (await gql<NonNullable<typeof listed>>(t.baseUrl, dashboardOperation('trips.graphql', 'TaskList'), { first: 15 }, acme.apiToken)).data ?? undefined;
    });
    assert.equal(taskList.length, 2, taskList.join('\n'));
    const { rows: truth } = await t.db.pool.query<{ id: string; trip_id: string; device_id: string; name: string }>(
      `SELECT k.id::text, k.trip_id, k.device_id, d.name FROM tasks k JOIN trips r ON r.id = k.trip_id JOIN devices d ON d.id = r.device_id WHERE k.customer_id = $1`,
      [acme.customerId],
    );
    assert.equal(listed!.tasks.edges.length, 15);
    for (const { node } of listed!.tasks.edges) {
      const row = truth.find((task) => task.id === node.id)!;
      assert.deepEqual([node.trip.id, node.trip.device.id, node.trip.device.name], [row.trip_id, row.device_id, row.name]);
    }
    // Each device's last upload and latest trip (with its task) come with the devices: the fleet
    // is authentication and one statement, the device page one more for its trips.
    await t.db.pool.query(
      `INSERT INTO ingest_batches (device_id, sha256, records, received_at) VALUES ($1, 'a', 1, '2026-03-04T05:06:07.1234Z'), ($1, 'b', 1, '2026-03-04T05:06:06Z')`,
      [vans[0]!.id],
    );
    type FleetAnswer = { devices: { id: string; lastSeenAt: string | null; latestTrip: { id: string; task: { id: string; state: string } | null } | null }[] };
    let fleetAnswer: FleetAnswer | undefined;
    const fleet = await statementsOf(async () => {
      fleetAnswer = (await gql<FleetAnswer>(t.baseUrl, dashboardOperation('fleet.graphql', 'Fleet'), {}, acme.apiToken)).data ?? undefined;
    });
    assert.equal(fleet.length, 2, fleet.join('\n'));
    const { rows: latest } = await t.db.pool.query<{ device_id: string; id: string; task_id: string }>(
      `SELECT DISTINCT ON (r.device_id) r.device_id, r.id, k.id::text AS task_id FROM trips r JOIN tasks k ON k.trip_id = r.id
        WHERE r.customer_id = $1 ORDER BY r.device_id, r.start_time_utc DESC, r.id DESC`,
      [acme.customerId],
    );
    assert.equal(fleetAnswer!.devices.length, vans.length);
    for (const device of fleetAnswer!.devices) {
      const truth = latest.find((row) => row.device_id === device.id)!;
      assert.deepEqual([device.latestTrip?.id, device.latestTrip?.task?.id], [truth.id, truth.task_id]);
      assert.equal(device.lastSeenAt, device.id === vans[0]!.id ? '2026-03-04T05:06:07.123400Z' : null);
    }
    type DeviceAnswer = {
      device: { id: string; lastSeenAt: string | null };
      trips: { totalCount: number; edges: { node: { id: string; task: { id: string; state: string } | null } }[] };
    };
    let deviceAnswer: DeviceAnswer | undefined;
    const devicePage = await sentWhile(async () => {
      deviceAnswer = (await gql<DeviceAnswer>(t.baseUrl, dashboardOperation('fleet.graphql', 'Device'), { id: vans[0]!.id, first: 20 }, acme.apiToken)).data ?? undefined;
    });
    assert.equal(devicePage.length, 3, devicePage.map((statement) => statement.text).join('\n'));
    // Authentication, then the device and its trips page (two root fields) in one round trip.
    assert.equal(new Set(devicePage.map((statement) => statement.trip)).size, 2);
    assert.deepEqual(deviceAnswer?.device, { ...deviceAnswer?.device, id: vans[0]!.id, lastSeenAt: '2026-03-04T05:06:07.123400Z' });
    const { rows: ownTrips } = await t.db.pool.query<{ id: string; task_id: string }>(
      `SELECT r.id, k.id::text AS task_id FROM trips r JOIN tasks k ON k.trip_id = r.id WHERE r.device_id = $1 ORDER BY r.start_time_utc DESC, r.id DESC`,
      [vans[0]!.id],
    );
    assert.equal(deviceAnswer?.trips.totalCount, ownTrips.length);
    assert.deepEqual(
      deviceAnswer?.trips.edges.map(({ node }) => [node.id, node.task?.id]),
      ownTrips.slice(0, 20).map((trip) => [trip.id, trip.task_id]),
    );
    const refused = await gql(t.baseUrl, dashboardOperation('fleet.graphql', 'Device'), { id: globexVan.id, first: 20 }, acme.apiToken);
    assert.equal(refused.errors?.[0]?.extensions?.code, 'NOT_FOUND', "another customer's device, with its last upload asked for");
    // The fleet page grows with the devices only in rows, not in statements.
    const before = await statementsOf(() => gql(t.baseUrl, dashboardOperation('fleet.graphql', 'Fleet'), {}, acme.apiToken));
    const more = await createDevice(t.db.orm, acme);
    await exportedTrips(acme, more, '2026-05-01T06:00:00Z', 2);
    const afterMore = await statementsOf(() => gql(t.baseUrl, dashboardOperation('fleet.graphql', 'Fleet'), {}, acme.apiToken));
    assert.equal(afterMore.length, before.length);
    await t.db.pool.query('DELETE FROM devices WHERE id = $1', [more.id]);
  });

  it('the same page through fragments and aliases, with rows loaded ahead for the page, answers what the plain query answers', async () => {
    const plain = await gql<TripsPage>(t.baseUrl, TRIPS_PAGE, { first: 20 }, acme.apiToken);
    const viaFragments = `query ($first: Int) {
      trips(first: $first) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { ...Row ... on Trip { task { state trip { id } } } other: task { id } } }
      }
    }
    fragment Row on Trip { id startTimeUtc device { ...Named settings { autoExport } } task { id } }
    fragment Named on Device { id name }`;
    type Row = TripsPage['trips']['edges'][number]['node'] & { other: { id: string } | null };
    const answers: { data?: { trips: Omit<TripsPage['trips'], 'edges'> & { edges: { node: Row }[] } } | null; errors?: unknown }[] = [];
    const few = await statementsOf(async () => void (await gql(t.baseUrl, viaFragments, { first: 5 }, acme.apiToken)));
    const sent = await statementsOf(async () => {
      answers.push(await gql(t.baseUrl, viaFragments, { first: 20 }, acme.apiToken));
    });
    const answer = answers[0]!;
    assert.equal(answer.errors, undefined);
    const { edges, ...rest } = answer.data!.trips;
    assert.deepEqual(rest, { totalCount: plain.data!.trips.totalCount, pageInfo: plain.data!.trips.pageInfo });
    assert.deepEqual(
      edges.map(({ node: { other, ...node } }) => {
        assert.equal(other?.id, node.task?.id, 'the aliased field answers the same task');
        return node;
      }),
      plain.data!.trips.edges.map((edge) => edge.node),
    );
    assert.equal(sent.length, few.length, 'the statements do not grow with the page');
    // Each selection reads the columns it shows: the alias, selecting less of the task than the
    // field it aliases, reads its own (one statement more, for the whole page).
    assert.ok(sent.length <= 6, `at most 6 statements, got ${sent.length}:\n${sent.join('\n')}`);
  });

  it('a page reading only the columns its selection shows answers every field as the whole row does', async () => {
    // Each field alone on a page, against the same objects read whole (a single object's query
    // reads every column): a field resolver that reads a column it does not declare fails here.
    const fieldsOf: Record<'Trip' | 'Task' | 'Device', string[]> = {
      Trip: [
        'createdAt',
        'startTimeUtc',
        'endTimeUtc',
        'state',
        'finalEnd',
        'endCount',
        'startLat',
        'startLng',
        'endLat',
        'endLng',
        'distanceKm',
        'duration',
        'task { id state }',
        'device { id name }',
      ],
      Task: [
        'createdAt',
        'state',
        'attempts',
        'runs',
        'dueAt',
        'startedAt',
        'finishedAt',
        'error',
        'resultClearedAt',
        'revision',
        'task',
        'args',
        'kwargs { tripId }',
        'trip { id startTimeUtc }',
        'result { bytes sha256 records firstTs lastTs downloadPath }',
        // A result reads the columns its own selection shows.
        'result { bytes }',
        'result { records }',
        'result { firstTs lastTs }',
        'result { downloadPath }',
      ],
      Device: [
        'createdAt',
        'unitId',
        'vehicleId',
        'name',
        'lastSeenAt',
        'settings { autoExport reopenLimitSeconds }',
        'ownSettings { autoExport }',
        'template { id }',
        'latestTrip { id state task { state } }',
        'trips { totalCount edges { node { id } } }',
      ],
    };
    // Every field of each type is here but those that read whole rows anyway (they declare nothing).
    const schema = await buildAppSchema();
    for (const [type, fields] of Object.entries(fieldsOf)) {
      const covered = new Set(['id', ...fields.map((field) => field.split(' ')[0]!)]);
      const missing = Object.values((schema.getType(type) as GraphQLObjectType).getFields()).filter((field) => !covered.has(field.name) && field.extensions.reads);
      assert.deepEqual(
        missing.map((field) => field.name),
        [],
        `${type}: fields that declare what they read are compared below`,
      );
    }
    const all = (type: keyof typeof fieldsOf) => fieldsOf[type].join(' ');
    const pages: [keyof typeof fieldsOf, (selection: string) => string, (data: Record<string, unknown>) => { id: string }[], (id: string) => string][] = [
      ['Trip', (f) => `{ page: trips(first: 20) { edges { node { id ${f} } } } }`, (d) => (d.page as TripsPage['trips']).edges.map((e) => e.node), (id) => `trip(id: "${id}")`],
      [
        'Task',
        (f) => `{ page: tasks(first: 20) { edges { node { id ${f} } } } }`,
        (d) => (d.page as { edges: { node: { id: string } }[] }).edges.map((e) => e.node),
        (id) => `task(id: "${id}")`,
      ],
      ['Device', (f) => `{ page: devices { id ${f} } }`, (d) => d.page as { id: string }[], (id) => `device(id: "${id}")`],
    ];
    for (const [type, page, nodesOf, single] of pages) {
      const ids = nodesOf((await gql<Record<string, unknown>>(t.baseUrl, page(''), {}, acme.apiToken)).data!).map((node) => node.id);
      assert.ok(ids.length > 0, type);
      const whole = await gql<Record<string, Record<string, unknown>>>(
        t.baseUrl,
        `{ ${ids.map((id, i) => `o${i}: ${single(id)} { id ${all(type)} }`).join(' ')} }`,
        {},
        acme.apiToken,
      );
      assert.equal(whole.errors, undefined, JSON.stringify(whole.errors));
      for (const field of fieldsOf[type]) {
        const answer = await gql<Record<string, unknown>>(t.baseUrl, page(field), {}, acme.apiToken);
        assert.equal(answer.errors, undefined, `${type}.${field}: ${JSON.stringify(answer.errors)}`);
        const name = field.split(' ')[0]!;
        for (const node of nodesOf(answer.data!) as unknown as Record<string, unknown>[]) {
          const i = ids.indexOf(node.id as string);
          assert.deepEqual(node[name], sameKeys(whole.data![`o${i}`]![name], node[name]), `${type}.${field} of ${String(node.id)}`);
        }
      }
    }
  });

  it('pages by cursor stay whole and tenant-scoped while trips are written between them', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let writes = 0;
    for (;;) {
      const response: { data?: TripsPage | null } = await gql<TripsPage>(t.baseUrl, TRIPS_PAGE, { first: 7, after }, acme.apiToken);
      const page: TripsPage['trips'] = response.data!.trips;
      seen.push(...page.edges.map((edge) => edge.node.id));
      // Newer trips land before the cursor (newest first): they must not shift what comes next.
      await exportedTrips(acme, vans[1]!, `2027-0${1 + writes}-01T06:00:00Z`, 2);
      await exportedTrips(globex, globexVan, `2026-0${1 + writes}-02T06:00:00Z`, 1);
      writes += 1;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    assert.equal(new Set(seen).size, seen.length, 'no trip twice');
    // Each edge's cursor (written when asked for) continues after its own node.
    const edges = await gql<{ trips: { edges: { cursor: string; node: { id: string } }[]; pageInfo: { endCursor: string } } }>(
      t.baseUrl,
      '{ trips(first: 3) { edges { cursor node { id } } pageInfo { endCursor } } }',
      {},
      acme.apiToken,
    );
    const [first, second, third] = edges.data!.trips.edges;
    assert.equal(third!.cursor, edges.data!.trips.pageInfo.endCursor);
    const afterFirst = await gql<TripsPage>(t.baseUrl, TRIPS_PAGE, { first: 2, after: first!.cursor }, acme.apiToken);
    assert.deepEqual(
      afterFirst.data!.trips.edges.map((edge) => edge.node.id),
      [second!.node.id, third!.node.id],
    );
    assert.deepEqual(new Set(seen), acmeTrips, 'every trip of the caller that existed when paging began, and no other');
    const other = await gql<TripsPage>(t.baseUrl, TRIPS_PAGE, { first: 50 }, globex.apiToken);
    for (const { node } of other.data!.trips.edges) assert.ok(!acmeTrips.has(node.id));
  });

  it("a customer's task pages read its own tasks, not past another customer's newer ones", async () => {
    // A customer with many tasks newer than all of Acme's: a plan walking the task ids backwards
    // would read all of them before Acme's first.
    const initech = await createCustomer(t.db.orm, t.config, 'Initech');
    await exportedTrips(initech, await createDevice(t.db.orm, initech), '2027-06-01T06:00:00Z', 5000);
    await t.db.pool.query('ANALYZE tasks');
    const { rows: own } = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tasks WHERE customer_id = $1', [acme.customerId]);
    const pages: [string, () => Promise<unknown>][] = [
      ['TaskList', () => gql(t.baseUrl, dashboardOperation('trips.graphql', 'TaskList'), { first: 20 }, acme.apiToken)],
      ['GET /tasks/?limit=20', () => request(t.baseUrl, 'GET', '/tasks/?limit=20', { auth: `APIToken ${acme.apiToken}` })],
      ['GET /tasks/', () => request(t.baseUrl, 'GET', '/tasks/', { auth: `APIToken ${acme.apiToken}` })],
    ];
    for (const [name, run] of pages) {
      const reads = (await sentWhile(run)).filter((statement) => /\bFROM tasks\b/.test(statement.text));
      assert.ok(reads.length > 0, `${name}: no read of tasks seen`);
      for (const statement of reads) {
        for (const scan of await scansOf(t.db.pool, 'tasks', statement)) {
          assert.equal(scan['Rows Removed by Filter'] ?? 0, 0, `${name}: ${scan['Node Type']} on ${scan['Index Name'] ?? 'tasks'} read past other rows:\n${statement.text}`);
          assert.ok((scan['Actual Rows'] ?? 0) <= own[0]!.n, `${name}: ${scan['Node Type']} on ${scan['Index Name'] ?? 'tasks'} read ${scan['Actual Rows']} rows`);
        }
      }
    }
  });

  it("a device filter answers another customer's device NOT_FOUND and the caller's device without trips an empty page", async () => {
    const ofDevice = 'query ($id: ID!) { trips(deviceId: $id) { totalCount edges { node { id } } } }';
    const refused = await gql(t.baseUrl, ofDevice, { id: globexVan.id }, acme.apiToken);
    assert.equal(refused.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    assert.equal((await request(t.baseUrl, 'GET', `/logbook/trips/?device=${globexVan.id}`, { auth: `APIToken ${acme.apiToken}` })).status, 404);
    const idle = await createDevice(t.db.orm, acme);
    const empty = await gql<{ trips: { totalCount: number } }>(t.baseUrl, ofDevice, { id: idle.id }, acme.apiToken);
    assert.deepEqual(empty.data?.trips.totalCount, 0);
    assert.equal((await request<{ count: number }>(t.baseUrl, 'GET', `/logbook/trips/?device=${idle.id}`, { auth: `APIToken ${acme.apiToken}` })).body.count, 0);
  });
});
