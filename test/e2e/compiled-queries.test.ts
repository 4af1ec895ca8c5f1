import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { insertExportedTrips } from '../factories/trips.js';
import { ApplyTemplateDocument, CreateTemplateDocument } from '../generated/graphql.js';
import { dashboardOperation } from '../support/dashboard-operations.js';
import { gql, request } from '../support/http.js';
import { createTrigger } from '../support/notify-fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Runs of one document through graphql-js before it runs compiled (GRAPHQL_COMPILE_AFTER). */
const COMPILE_AFTER = 2;

/**
 * A query asked again and again runs as compiled code (src/graphql/compiled-queries.ts): its
 * answers must be those graphql-js gives, byte for byte, and its errors those graphql-js and
 * the error table give.
 */
describe('queries run compiled answer as graphql-js does', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let van: TestDevice;
  let tripId: string;
  let taskId: string;

  /** `trip_export_graphql_compiled_queries_total` for `outcome`, from `GET /metrics`. */
  const compiledRuns = async (outcome: 'answered' | 'errors'): Promise<number> => {
    const metrics = await request<string>(t.baseUrl, 'GET', '/metrics');
    const line = String(metrics.body)
      .split('\n')
      .find((l) => l.startsWith(`trip_export_graphql_compiled_queries_total{outcome="${outcome}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  /** The JSON text of each of `runs` answers to the same request, in key order as sent. */
  const answers = async (query: string, variables: Record<string, unknown>, runs: number, token: string | undefined): Promise<string[]> => {
    const texts: string[] = [];
    for (let i = 0; i < runs; i++) texts.push(JSON.stringify(await gql(t.baseUrl, query, variables, token)));
    return texts;
  };

  before(async () => {
    t = await startTestApp({ GRAPHQL_COMPILE_AFTER: String(COMPILE_AFTER) }, { role: 'api' });
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    van = await createDevice(t.db.orm, acme, { autoExport: true });
    await createDevice(t.db.orm, acme);
    tripId = (await insertExportedTrips(t.db.pool, acme, van, '2026-03-01T05:00:00Z', 25))[0]!;
    taskId = (await t.db.pool.query<{ id: string }>('SELECT id FROM tasks WHERE trip_id = $1', [tripId])).rows[0]!.id;
    const template = await gql(t.baseUrl, CreateTemplateDocument, { input: { name: 'Vans', settings: { reopenLimitSeconds: 120, startTags: ['ign_on'] } } }, acme.apiToken);
    assert.equal(template.errors, undefined, JSON.stringify(template.errors));
    const applied = await gql(t.baseUrl, ApplyTemplateDocument, { templateId: template.data!.createTemplate.id, deviceIds: [van.id] }, acme.apiToken);
    assert.equal(applied.errors, undefined, JSON.stringify(applied.errors));
    await createTrigger(t.baseUrl, acme.apiToken, { description: 'exports', type: 'SIGNAL', signal: 'trip_export_finished', email: { recipients: ['ops@fleet.test'] } });
  });
  after(() => t.close());

  it('answers every query of the dashboard the same before and after it is compiled, and runs it compiled once asked for often enough', async () => {
    const pages: [file: string, name: string, variables: () => Record<string, unknown>][] = [
      ['fleet.graphql', 'Me', () => ({})],
      ['fleet.graphql', 'Fleet', () => ({})],
      ['fleet.graphql', 'Device', () => ({ id: van.id, first: 20 })],
      ['fleet.graphql', 'Device', () => ({ id: van.id, first: 10, from: '2026-03-01T10:00:00Z' })],
      ['trips.graphql', 'TaskList', () => ({ first: 20 })],
      ['trips.graphql', 'TaskList', () => ({ first: 5, deviceId: van.id, state: 'SUCCESS' })],
      ['trips.graphql', 'TripDetail', () => ({ id: tripId })],
      ['trips.graphql', 'TripTrack', () => ({ id: tripId, maxPoints: 50 })],
      ['tokens.graphql', 'ApiTokens', () => ({})],
      ['triggers.graphql', 'Triggers', () => ({})],
      ['triggers.graphql', 'Deliveries', () => ({ first: 20, offset: 0 })],
    ];
    for (const [file, name, variables] of pages) {
      const runs = await answers(dashboardOperation(file, name), variables(), COMPILE_AFTER + 2, acme.apiToken);
      assert.ok(!runs[0]!.includes('"errors"'), `${name}: ${runs[0]}`);
      for (const [i, run] of runs.entries()) assert.equal(run, runs[0], `${name} ${JSON.stringify(variables())}: run ${i + 1} differs from the first`);
    }
    const before = await compiledRuns('answered');
    await answers(dashboardOperation('fleet.graphql', 'Device'), { id: van.id, first: 20 }, 3, acme.apiToken);
    assert.equal(await compiledRuns('answered'), before + 3, 'a query asked for often enough runs compiled');
  });

  it('answers a compiled query with arguments, aliases, fragments and directives as graphql-js does, for each set of variables', async () => {
    const query = `query Page($first: Int, $withTask: Boolean!, $skipDevice: Boolean!) {
      recent: trips(first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ...Trip } } }
      oldest: trips(first: 2, deviceId: "${van.id}") { edges { node { id startTimeUtc } } }
      task(id: "${taskId}") { id state result { bytes records } trip { id } }
    }
    fragment Trip on Trip { id state distanceKm duration task @include(if: $withTask) { id state } device @skip(if: $skipDevice) { id name settings { reopenLimitSeconds startTags } } }`;
    for (const variables of [
      { first: 3, withTask: true, skipDevice: false },
      { first: 7, withTask: false, skipDevice: true },
      { first: 1, withTask: true, skipDevice: true },
    ]) {
      const runs = await answers(query, variables, COMPILE_AFTER + 2, acme.apiToken);
      assert.ok(!runs[0]!.includes('"errors"'), runs[0]);
      for (const [i, run] of runs.entries()) assert.equal(run, runs[0], `${JSON.stringify(variables)}: run ${i + 1} differs from the first`);
    }
  });

  it('answers errors as graphql-js and the error table give them: a compiled answer holding an error is dropped', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const cases: [query: string, variables: Record<string, unknown>, token: string | undefined, code: string][] = [
      [dashboardOperation('trips.graphql', 'TripDetail'), { id: missing }, acme.apiToken, 'NOT_FOUND'],
      [dashboardOperation('fleet.graphql', 'Fleet'), {}, undefined, 'UNAUTHENTICATED'],
      [dashboardOperation('trips.graphql', 'TaskList'), { first: 5, deviceId: 'not-a-device' }, acme.apiToken, 'NOT_FOUND'],
    ];
    for (const [query, variables, token, code] of cases) {
      const before = await compiledRuns('errors');
      // A document of its own (a comment makes the text new), so its first runs are graphql-js's.
      const runs = await answers(`${query}\n# ${code} ${JSON.stringify(variables)}`, variables, COMPILE_AFTER + 2, token);
      const first = JSON.parse(runs[0]!) as { errors?: { extensions?: { code?: string } }[] };
      assert.equal(first.errors?.[0]?.extensions?.code, code, runs[0]);
      for (const [i, run] of runs.entries()) assert.equal(run, runs[0], `${code}: run ${i + 1} differs from the first`);
      assert.equal(await compiledRuns('errors'), before + 2, `${code}: the compiled runs met the error and graphql-js answered`);
    }
  });

  it('runs nothing compiled when GRAPHQL_COMPILE_AFTER is 0', async () => {
    const off = await startTestApp({ GRAPHQL_COMPILE_AFTER: '0' }, { role: 'api', db: t.db });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await gql(off.baseUrl, '{ me { email } }', {}, acme.apiToken)).errors, undefined);
      const metrics = String((await request<string>(off.baseUrl, 'GET', '/metrics')).body);
      assert.ok(
        !/trip_export_graphql_compiled_queries_total\{outcome="answered"\} [1-9]/.test(metrics),
        metrics
          .split('\n')
          .filter((l) => l.includes('compiled'))
          .join('\n'),
      );
    } finally {
      await off.close();
    }
  });
});
