/**
 * API scenario: read endpoints under concurrent load from autocannon on loopback, each against
 * a baseline measured in the same run (`{ __typename }` with an API token: Apollo plus
 * authentication, no data), so the ratios hold on a busier or quieter machine.
 */
import { createHash, randomUUID } from 'node:crypto';

import autocannon from 'autocannon';

import { dashboardOperation } from '../../test/support/dashboard-operations.js';
import type { BenchContext } from '../context.js';
import { fmt, stats, table } from '../harness.js';

export interface ApiResult {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  readonly p50Ms: number;
  readonly errors: number;
}

export async function loadTest(
  name: string,
  url: string,
  options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; seconds: number; connections: number },
): Promise<ApiResult> {
  const result = await autocannon({
    url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    duration: options.seconds,
    connections: options.connections,
  });
  return {
    name,
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    p50Ms: result.latency.p50,
    errors: result.errors + result.non2xx,
  };
}

/** What the API scenario reads: `devices` devices, `trips` exported trips spread over them. */
export interface ApiData {
  readonly deviceIds: readonly string[];
  readonly trips: number;
}

/**
 * Devices, completed trips and their SUCCESS tasks written straight into the tables (the
 * read paths are measured, not how the rows came to be).
 */
export async function seedExportedTrips(ctx: BenchContext, customerId: string, devices: number, trips: number): Promise<ApiData> {
  const deviceIds: string[] = [];
  for (let d = 0; d < devices; d++) {
    const id = randomUUID();
    deviceIds.push(id);
    await ctx.db.pool.query(`INSERT INTO devices (id, customer_id, unit_id, vehicle_id, name, settings, upload_token_hash) VALUES ($1, $2, $3, $4, $5, '{}'::jsonb, $6)`, [
      id,
      customerId,
      randomUUID(),
      1000 + d,
      `Van ${d + 1}`,
      randomUUID(),
    ]);
  }
  await ctx.db.pool.query(
    `WITH t AS (
       SELECT gen_random_uuid() AS id, ($2::uuid[])[1 + (i % array_length($2::uuid[], 1))] AS device_id,
              timestamptz '2026-10-01T06:00:00Z' + make_interval(hours => i) AS start_ts, i
         FROM generate_series(0, $3 - 1) AS i
     ), trips_in AS (
       INSERT INTO trips (id, customer_id, device_id, start_time_utc, end_time_utc, state, final_end, end_count, start_lat, start_lng, end_lat, end_lng, distance_km)
       SELECT id, $1, device_id, start_ts, start_ts + interval '40 minutes', 'completed', true, 1, 56.1, 10.2, 56.2, 10.3, 12.5 + i % 7 FROM t
       RETURNING id, device_id, end_time_utc
     )
     INSERT INTO tasks (customer_id, trip_id, device_id, state, attempts, runs, request_count, covered_request_count, started_at, finished_at,
                        result_path, result_bytes, result_sha256, result_records, result_first_ts, result_last_ts, result_at, revision)
     SELECT $1, id, device_id, 'SUCCESS', 1, 1, 1, 1, end_time_utc + interval '10 minutes', end_time_utc + interval '10 minutes 2 seconds',
            id || '/' || gen_random_uuid() || '.json.gz', 123456, repeat('ab', 32), 21600, end_time_utc - interval '40 minutes', end_time_utc,
            end_time_utc + interval '10 minutes 2 seconds', 1
       FROM trips_in`,
    [customerId, deviceIds, trips],
  );
  await ctx.db.pool.query('VACUUM ANALYZE devices, trips, tasks');
  return { deviceIds, trips };
}

interface Request {
  readonly name: string;
  readonly path: string;
  readonly graphql?: { readonly query: string; readonly variables?: Record<string, unknown>; readonly operationName?: string };
  readonly anonymous?: boolean;
  /**
   * Sent as the dashboard sends it (web/src/client.ts): an automatic persisted query, the hash
   * of the text without the text, once one request with both has registered it.
   */
  readonly persisted?: boolean;
  /** Held to the targets: at least this ratio to the baseline. */
  readonly target?: number;
}

export interface ApiScenarioOptions {
  readonly baseUrl: string;
  readonly apiToken: string;
  /** A second customer's token, whose account has `bigTasks` tasks. */
  readonly bigToken: string;
  readonly bigTasks: number;
  readonly deviceId: string;
  readonly seconds: number;
  /** Passes over every request; the table shows the median of each. */
  readonly rounds: number;
  readonly connections: number;
  readonly log: (message: string) => void;
}

const BASELINE = '{ __typename }';
const TRIPS_WITH_TASKS = '{ trips(first: 20) { totalCount edges { node { id state startTimeUtc endTimeUtc distanceKm duration task { id state } } } } }';

/** Runs every request of the scenario after one warm-up pass and returns the markdown section. */
export async function apiScenario(options: ApiScenarioOptions): Promise<string> {
  const { baseUrl, seconds, connections, log } = options;
  const requests: Request[] = [
    { name: 'GET /healthz (Fastify alone)', path: '/healthz', anonymous: true },
    { name: 'GraphQL `{ __typename }`, no token', path: '/graphql', graphql: { query: BASELINE }, anonymous: true },
    { name: 'GraphQL `{ __typename }` with token (baseline)', path: '/graphql', graphql: { query: BASELINE } },
    { name: 'GraphQL `{ me { email } }`', path: '/graphql', graphql: { query: '{ me { email } }' }, target: 0.8 },
    { name: 'GraphQL `trips(first: 20)` with totalCount and each task', path: '/graphql', graphql: { query: TRIPS_WITH_TASKS }, target: 0.4 },
    { name: 'GET /tasks/?limit=20', path: '/tasks/?limit=20', target: 0.5 },
    { name: 'GET /logbook/trips/?limit=20', path: '/logbook/trips/?limit=20', target: 0.5 },
    { name: 'dashboard `Me`', path: '/graphql', graphql: { query: dashboardOperation('fleet.graphql', 'Me') }, persisted: true, target: 0.4 },
    {
      name: 'dashboard `Fleet` (10 devices, latest trip and task)',
      path: '/graphql',
      graphql: { query: dashboardOperation('fleet.graphql', 'Fleet') },
      persisted: true,
      target: 0.4,
    },
    {
      name: 'dashboard `Device` (device and its first 20 trips)',
      path: '/graphql',
      graphql: { query: dashboardOperation('fleet.graphql', 'Device'), variables: { id: options.deviceId, first: 20 } },
      persisted: true,
      target: 0.4,
    },
    {
      name: 'dashboard `TaskList` (first 20)',
      path: '/graphql',
      graphql: { query: dashboardOperation('trips.graphql', 'TaskList'), variables: { first: 20 } },
      persisted: true,
      target: 0.4,
    },
  ];
  const headersOf = (request: Request, token: string): Record<string, string> => ({
    ...(request.anonymous ? {} : { authorization: `APIToken ${token}` }),
    ...(request.graphql ? { 'content-type': 'application/json' } : {}),
  });
  const bodyOf = (request: Request, withText: boolean): string | undefined => {
    if (!request.graphql) return undefined;
    if (!request.persisted) return JSON.stringify(request.graphql);
    const { query, ...rest } = request.graphql;
    const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
    return JSON.stringify({ ...(withText ? { query } : {}), ...rest, extensions: { persistedQuery } });
  };
  const measure = (request: Request, token = options.apiToken, seconds = options.seconds): Promise<ApiResult> =>
    loadTest(request.name, `${baseUrl}${request.path}`, {
      method: request.graphql ? 'POST' : 'GET',
      headers: headersOf(request, token),
      body: bodyOf(request, false),
      seconds,
      connections,
    });
  // A persisted query the service does not know is answered PersistedQueryNotFound, with HTTP
  // 200, which autocannon would count as answered: each is registered with its text, and must be
  // answered from its hash alone before and after it is measured.
  const answered = async (request: Request, withText: boolean): Promise<void> => {
    const response = await fetch(`${baseUrl}${request.path}`, { method: 'POST', headers: headersOf(request, options.apiToken), body: bodyOf(request, withText) });
    const answer = (await response.json()) as { errors?: unknown[] };
    if (!response.ok || answer.errors) throw new Error(`${request.name} ${withText ? 'with its text' : 'by its hash'}: HTTP ${response.status} ${JSON.stringify(answer.errors)}`);
  };
  const persisted = requests.filter((request) => request.persisted);
  for (const request of persisted) {
    await answered(request, true);
    await answered(request, false);
  }
  // Each request is measured between two measurements of the baseline, and its ratio is to
  // their mean: this machine's speed drifts by a third within a minute (baseline rounds of
  // 2,255 and 2,985 requests/s one after the other), so a ratio to a baseline measured half a
  // minute away says more about the drift than about the request. Rounds over every request,
  // so a stretch of noise hits one round of each; medians over the rounds.
  log(`api: ${requests.length} requests, ${connections} connections, ${options.rounds} rounds of ${seconds} s each after a 1 s warm-up, the baseline between every two`);
  for (const request of requests) await measure(request, options.apiToken, 1);
  const baselineAt = requests.findIndex((request) => request.graphql?.query === BASELINE && !request.anonymous);
  const baselineRequest = requests[baselineAt]!;
  const rounds: { result: ApiResult; ratio: number }[][] = requests.map(() => []);
  const baselines: ApiResult[] = [];
  for (let round = 0; round < options.rounds; round++) {
    let before = await measure(baselineRequest);
    baselines.push(before);
    for (const [i, request] of requests.entries()) {
      if (i === baselineAt) continue;
      const result = await measure(request);
      const after = await measure(baselineRequest);
      baselines.push(after);
      rounds[i]!.push({ result, ratio: result.requestsPerSecond / ((before.requestsPerSecond + after.requestsPerSecond) / 2) });
      before = after;
    }
    log(`  round ${round + 1}: baseline ${Math.round(stats(baselines.slice(-requests.length).map((b) => b.requestsPerSecond)).median)}/s`);
  }
  const median = (values: number[]): number => stats(values).median;
  const summary = (name: string, runs: readonly ApiResult[]): ApiResult => ({
    name,
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  });
  /** From the lowest to the highest of `values`, each formatted: how far the rounds spread. */
  const spread = (values: readonly number[], format: (x: number) => string): string => {
    const { min, max } = stats([...values]);
    return min === max ? format(min) : `${format(min)}–${format(max)}`;
  };
  const results = requests.map((request, i) =>
    i === baselineAt
      ? {
          ...summary(request.name, baselines),
          ratio: 1,
          rounds: spread(
            baselines.map((b) => b.requestsPerSecond),
            (x) => `${Math.round(x).toLocaleString('en-US')}/s`,
          ),
        }
      : {
          ...summary(
            request.name,
            rounds[i]!.map((r) => r.result),
          ),
          ratio: median(rounds[i]!.map((r) => r.ratio)),
          rounds: spread(
            rounds[i]!.map((r) => r.ratio),
            fmt.ratio,
          ),
        },
  );
  for (const request of persisted) await answered(request, false);
  const bigList = await measure({ name: `GET /tasks/ (all ${options.bigTasks.toLocaleString('en-US')} tasks of another customer, streamed)`, path: '/tasks/' }, options.bigToken);
  const bigBaseline = await measure(baselineRequest);
  const row = (r: ApiResult & { ratio: number; rounds?: string }, target?: number): string[] => {
    const verdict = target === undefined ? '' : r.ratio >= target && r.p99Ms <= 50 ? `≥ ${target}x and p99 ≤ 50 ms: met` : `≥ ${target}x and p99 ≤ 50 ms: NOT met`;
    return [r.name, Math.round(r.requestsPerSecond).toLocaleString('en-US'), fmt.ratio(r.ratio), r.rounds ?? '', `${r.p50Ms} ms`, `${r.p99Ms} ms`, String(r.errors), verdict];
  };
  return (
    `### API reads (autocannon on loopback, ${connections} connections, medians of ${options.rounds} rounds of ${seconds} s, the baseline between every two; one customer with 10 devices and 200 exported trips)\n\n` +
    table(
      ['request', 'requests/s', '÷ baseline', 'rounds', 'p50', 'p99', 'errors', 'target'],
      [...results.map((r, i) => row(r, requests[i]!.target)), row({ ...bigList, ratio: bigList.requestsPerSecond / bigBaseline.requestsPerSecond })],
    ) +
    `\n\nEach ratio is the median over the rounds of the request's rate over the mean of the baseline measured just before and just after it; the baseline row is the median of all ${baselines.length} baseline measurements. "rounds" is the lowest and highest ratio of a round (for the baseline, its rate): where it straddles a target, this machine's noise decides the verdict. The dashboard's operations go as the dashboard sends them: persisted queries, their hash without their text (registered once before).`
  );
}
