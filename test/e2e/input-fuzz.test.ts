/**
 * Generated garbage against the real service: cursors, GraphQL variables and documents, REST
 * paths and query parameters. Whatever arrives, the answer is the client's fault (4xx, or a
 * GraphQL error with a client code), never a 5xx or INTERNAL_SERVER_ERROR, and the service
 * keeps answering.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';

import { encodeCursor } from '../../src/lib/pagination.js';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { createTrip, endTrip } from '../factories/trips.js';
import { type GraphQLResponse, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Runs per property: enough to find the shapes that break, small enough for ~20 s in all. */
const RUNS = 60;

/** Anything JSON can carry, weighted towards what inputs are usually checked against. */
const garbage = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.uuid(),
    fc.integer(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.double(),
    fc.constantFrom(-1, 0, 1e9, 2 ** 31, Number.MAX_SAFE_INTEGER, '', 'null', '1e400', '0x10', ' 1', '1.5', '-0'),
    fc.constantFrom('2026-01-01T00:00:00Z', '0000-00-00T00:00:00Z', '9999-12-31T23:59:59.999999Z', '+275760-09-13T00:00:00Z'),
    fc.jsonValue({ maxDepth: 3 }),
  );

/** Cursors: random text, and encoded arrays of plausible and implausible sort keys. */
const cursor = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string(),
    fc.base64String(),
    fc
      .array(
        fc.oneof(
          fc.string(),
          fc.integer(),
          fc.double(),
          fc.uuid(),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        { maxLength: 3 },
      )
      .map(encodeCursor),
    fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64url')),
  );

/** Operations a dashboard sends, with every argument a variable the fuzzer fills in. */
const OPERATIONS = [
  'query($a: String, $f: Int, $s: TaskState) { tasks(after: $a, first: $f, state: $s) { totalCount edges { cursor node { id trip { id device { id } } } } } }',
  'query($a: String, $f: Int, $d: ID, $from: String, $to: String) { trips(after: $a, first: $f, deviceId: $d, from: $from, to: $to) { totalCount edges { node { id device { id } task { id } } } } }',
  'query($id: ID!) { trip(id: $id) { id } }',
  'query($id: ID!) { task(id: $id) { id } }',
  'query($id: ID!) { device(id: $id) { id settings { startTags } } }',
  'query($id: ID!) { trigger(id: $id) { id } }',
  'query($id: ID!) { delivery(id: $id) { id } }',
  'query($t: ID, $k: ID, $s: DeliveryState, $f: Int!, $o: Int!) { deliveries(triggerId: $t, taskId: $k, state: $s, first: $f, offset: $o) { id } }',
  'mutation($id: ID!) { exportTrip(tripId: $id) { id } }',
  'mutation($id: ID!) { clearTaskResult(taskId: $id) { id } }',
  'mutation($id: ID!) { revokeApiToken(id: $id) { id } }',
  'mutation($id: ID!) { redeliver(deliveryId: $id) { id } }',
  'mutation($n: String!, $e: String) { createApiToken(name: $n, expiresAt: $e) { apiToken { id } } }',
  'mutation($i: CreateDeviceInput!) { createDevice(input: $i) { device { id } } }',
  'mutation($ids: [ID!]!, $t: ID!) { applyTemplate(deviceIds: $ids, templateId: $t) { devices { id } } }',
] as const;

const VARIABLES = ['a', 'f', 's', 'd', 'from', 'to', 'id', 't', 'k', 'o', 'n', 'e', 'i', 'ids'] as const;

describe('fuzz: malformed input is always the client’s fault', () => {
  let t: TestApp;
  let acme: TestCustomer;

  /** A 5xx or an INTERNAL_SERVER_ERROR is a bug; everything else is a fair refusal or an answer. */
  function assertClientFault(what: string, status: number, body: unknown): void {
    assert.ok(status < 500, `${what}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`);
    const codes = ((body as GraphQLResponse<unknown> | undefined)?.errors ?? []).map((e) => e.extensions?.code);
    assert.ok(!codes.includes('INTERNAL_SERVER_ERROR'), `${what}: ${JSON.stringify(body).slice(0, 300)}`);
  }

  /** Sends `query` with `variables` as Acme, asserts the answer is no server fault, and answers its body. */
  async function graphql(query: string, variables: unknown): Promise<GraphQLResponse<unknown>> {
    const res = await request<GraphQLResponse<unknown>>(t.baseUrl, 'POST', '/graphql', { token: acme.apiToken, body: { query, variables } });
    assertClientFault(`${query} ${JSON.stringify(variables)}`, res.status, res.body);
    return res.body;
  }

  before(async () => {
    t = await startTestApp();
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    const device = await createDevice(t.db.orm, acme);
    // Rows, so that paging, cursors and field resolvers have something to run on.
    for (const day of ['01', '02', '03']) {
      const trip = await createTrip(t.db.orm, acme, device, `2026-03-${day}T08:00:00.000000Z`);
      await endTrip(t.app.services, trip, `2026-03-${day}T09:00:00.000000Z`);
    }
  });
  after(() => t.close());

  it('decodes any cursor to a page or BAD_USER_INPUT', async () => {
    await fc.assert(
      fc.asyncProperty(cursor(), fc.constantFrom('tasks', 'trips'), async (after, field) => {
        const res = await request<GraphQLResponse<unknown>>(t.baseUrl, 'POST', '/graphql', {
          token: acme.apiToken,
          body: { query: `query($a: String) { ${field}(after: $a, first: 2) { edges { cursor } } }`, variables: { a: after } },
        });
        assertClientFault(after, res.status, res.body);
        for (const error of res.body.errors ?? []) assert.equal(error.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(error));
      }),
      { numRuns: RUNS },
    );
  });

  it('answers any variables of any operation without an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...OPERATIONS), fc.dictionary(fc.constantFrom(...VARIABLES), garbage()), async (query, variables) => {
        await graphql(query, variables);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('answers any document (and any variables value) with a client error at worst', async () => {
    const fragment = fc.constantFrom(
      '{',
      '}',
      '(',
      ')',
      'me',
      'tasks',
      'first:',
      '$x',
      '...',
      '@skip(if: true)',
      'a: ',
      '"',
      'query',
      'fragment F on Task',
      'edges',
      'node',
      'id',
      ' ',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(' ')),
        ),
        garbage(),
        async (query, variables) => {
          await graphql(query, variables);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('treats a string literal in a query as data, however often the query is asked', async () => {
    // What made graphql-jit 0.8.9 run code: its Date marker, then an expression, in a literal
    // argument (it rebuilds `new Date(...)` from the marked string in the function it generates).
    const marker = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d';
    const probe = globalThis as { tripExportInjected?: unknown };
    for (const literal of [`${marker}(globalThis.tripExportInjected=1,0)`, `${marker}1)+(globalThis.tripExportInjected=2`, '"); globalThis.tripExportInjected = 3; ("']) {
      const query = `{ trips(deviceId: ${JSON.stringify(literal)}, first: 1) { totalCount } task(id: ${JSON.stringify(literal)}) { id } }`;
      for (let run = 0; run < 4; run++) {
        const answer = await graphql(query, {});
        assert.ok((answer.errors ?? []).length > 0, `${literal}: ${JSON.stringify(answer)}`);
      }
    }
    assert.equal(probe.tripExportInjected, undefined, 'a literal of a query ran as code in the service');
  });

  it('answers any REST path segment and query parameter with a 4xx or a 2xx', async () => {
    const segment = fc.oneof(fc.string(), fc.uuid(), fc.integer().map(String), fc.constantFrom('0', '-1', '1e3', '99999999999999999999', '%00', '%ZZ', '..', '%2F'));
    const value = fc.oneof(
      garbage().map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
      segment,
    );
    const query = fc.dictionary(fc.constantFrom('limit', 'offset', 'state', 'device', 'from', 'to', 'expires', 'signature'), fc.oneof(value, fc.array(value, { maxLength: 2 })));
    const route = fc.constantFrom(
      (id: string) => ['GET', `/tasks/${id}/`],
      (id: string) => ['GET', `/tasks/${id}/result/`],
      (id: string) => ['POST', `/tasks/${id}/clear_result/`],
      (id: string) => ['GET', `/automation/triggers/${id}/`],
      (id: string) => ['DELETE', `/auth/api_tokens/${id}/`],
      () => ['GET', '/tasks/'],
      () => ['GET', '/logbook/trips/'],
      () => ['GET', '/automation/triggers/'],
    );
    await fc.assert(
      fc.asyncProperty(route, segment, query, async (make, id, params) => {
        const [method, path] = make(encodeURIComponent(id).replace(/%25(00|ZZ|2F)/g, '%$1'));
        const search = new URLSearchParams();
        for (const [key, v] of Object.entries(params)) for (const one of [v].flat()) search.append(key, one);
        const res = await request(t.baseUrl, method!, `${path}?${search.toString()}`, { token: acme.apiToken });
        assertClientFault(`${method} ${path}?${search.toString()}`, res.status, res.body);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('answers any JSON body of POST /tasks/ with a 4xx or a 2xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(garbage(), fc.record({ task: garbage(), args: garbage(), kwargs: fc.record({ trip_id: garbage() }) })), async (body) => {
        const res = await request(t.baseUrl, 'POST', '/tasks/', { token: acme.apiToken, body: JSON.stringify(body) });
        assertClientFault(JSON.stringify(body), res.status, res.body);
      }),
      { numRuns: RUNS },
    );
  });
});
