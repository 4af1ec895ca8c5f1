import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import pg from 'pg';

import { loadConfig } from '../../src/config/config.js';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { type DeviceRecord, drive, upload } from '../factories/records.js';
import { downloadResult, taskOfTrip } from '../support/exports.js';
import { gql, type GraphQLResponse, request } from '../support/http.js';
import { type ServiceProcess, startServiceProcess } from '../support/process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { createTestDatabase, TEST_SERVER_URL, type TestDatabase } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

const JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

/** Records about 1 KB each, so that a trip of a few thousand is several export blocks long. */
const padded = (records: DeviceRecord[]): DeviceRecord[] => records.map((r, i) => ({ ...r, 'test.pad': `${i}:${'x'.repeat(900)}` }));

interface LogLine {
  level: number;
  msg: string;
}

/**
 * The service runs as a child process behind a TCP proxy to the real PostgreSQL: the test
 * terminates the service's own backends (found by the proxy's ports, in this test's database
 * only) and cuts the proxy to make PostgreSQL unreachable, and checks that the process lives.
 */
describe('PostgreSQL faults never end the process', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let service: ServiceProcess;
  let acme: TestCustomer;
  const exportDir = path.join(tmpdir(), `trip-export-faults-${randomBytes(6).toString('hex')}`);

  const exited = (): boolean => service.child.exitCode !== null || service.child.signalCode !== null;
  /** waitFor that gives up at once, with the service's output, when the service died. */
  const waitAlive = <T>(probe: () => Promise<T>, what: string, timeoutMs?: number) =>
    waitFor(
      async () => {
        if (exited()) throw new Error(`the service exited (${service.child.exitCode ?? service.child.signalCode}) while waiting for ${what}:\n${service.output().slice(-3000)}`);
        return probe();
      },
      what,
      timeoutMs,
    );
  const assertAlive = async (): Promise<void> => {
    assert.equal(exited(), false, `the service exited:\n${service.output().slice(-3000)}`);
    assert.equal((await request(service.baseUrl, 'GET', '/healthz')).status, 200);
  };

  /** The service's backends (connected through the proxy) in this test's database matching `condition`. */
  const serviceBackends = async (condition: string): Promise<number[]> => {
    const { rows } = await db.pool.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and client_port = any($1::int[]) and ${condition}`, [
      proxy.upstreamPorts(),
    ]);
    return rows.map((r) => r.pid);
  };
  const terminate = async (pids: number[]): Promise<void> => {
    const { rows } = await db.pool.query<{ done: boolean }>(
      'select pg_terminate_backend(a.pid) as done from pg_stat_activity a where a.datname = current_database() and a.pid = any($1::int[])',
      [pids],
    );
    assert.ok(rows.length > 0 && rows.every((r) => r.done), `terminated ${pids.join(', ')}`);
  };
  const logsSince = (offset: number): LogLine[] =>
    service
      .output()
      .slice(offset)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);

  before(async () => {
    db = await createTestDatabase();
    const server = new URL(TEST_SERVER_URL);
    proxy = await startTcpProxy(Number(server.port || 5432), server.hostname);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    service = await startServiceProcess({
      DATABASE_URL: viaProxy.toString(),
      JWT_SECRET,
      EXPORT_DIR: exportDir,
      EXPORT_MIN_DELAY_SECONDS: '1',
      EXPORT_LEASE_SECONDS: '4',
      EXPORT_SWEEP_SECONDS: '2',
      EXPORT_RETRY_BASE_SECONDS: '1',
      // A trip of ~4 MB takes a few seconds to export: long enough to cut its COPY midway.
      EXPORT_MAX_BYTES_PER_SECOND: String(1024 * 1024),
      JOB_POLL_MS: '100',
      REDIS_URL: undefined,
      MONGODB_URL: undefined,
    });
    acme = await createCustomer(db.orm, loadConfig({ JWT_SECRET }));
  });

  after(async () => {
    await service?.stop('SIGKILL');
    await proxy?.close();
    await db?.drop();
    await rm(exportDir, { recursive: true, force: true });
  });

  it("survives the termination of a running export's COPY, and the retried export holds every record", async () => {
    const device = await createDevice(db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const records = padded(drive('2026-06-01T08:00:00Z', 2000, 1));
    for (let i = 0; i < records.length; i += 1000) {
      assert.equal((await upload(service.baseUrl, device, records.slice(i, i + 1000), { gzip: true })).status, 200);
    }
    const { rows } = await db.pool.query<{ id: string }>('select id from trips where device_id = $1', [device.id]);
    const tripId = rows[0]!.id;

    // PostgreSQL has sent the whole COPY into the socket buffers while the throttled export
    // still reads it: the connection drops under a COPY the export is in the middle of.
    const copying = await waitAlive(
      () => serviceBackends(`query like 'copy (select line from records%' and state = 'idle in transaction'`).then((p) => (p.length ? p : undefined)),
      "the export's COPY",
      30_000,
    );
    await terminate(copying);

    const task = await waitAlive(
      async () => {
        const current = await taskOfTrip(db.pool, tripId);
        return current?.state === 'SUCCESS' ? current : undefined;
      },
      'the retried export to succeed',
      60_000,
    );
    assert.ok(task.runs >= 2, `the cut run failed and was retried (runs: ${task.runs})`);
    const { response, lines } = await downloadResult(service.baseUrl, task.id, acme.apiToken);
    assert.equal(response.status, 200);
    assert.equal(lines.length, records.length + 1, 'the trip line and every record');
    assert.deepEqual(
      lines.slice(1).map((l) => (JSON.parse(l) as DeviceRecord)['@ts']),
      records.map((r) => r['@ts']),
    );
    assert.deepEqual(await readdir(path.join(exportDir, tripId)), [path.basename(task.result_path!)], 'no temp file of the cut run is left');
    await assertAlive();
  });

  it('answers an upload whose COPY is cut with 503 and Retry-After, and stores the retried batch once', async () => {
    const device = await createDevice(db.orm, acme);
    const first = drive('2026-07-01T08:00:00Z', 10);
    assert.equal((await upload(service.baseUrl, device, first)).status, 200);
    const batch = padded(drive('2026-07-01T09:00:00Z', 2500));

    // Holding a lock the COPY needs keeps it mid-stream, so the test can cut it there.
    const locker = new pg.Client({ connectionString: db.url });
    locker.on('error', () => undefined);
    await locker.connect();
    let response: Awaited<ReturnType<typeof upload>>;
    try {
      await locker.query('begin');
      await locker.query('lock table records_2026m07 in share mode');
      const sent = upload(service.baseUrl, device, batch, { gzip: true });
      const copying = await waitAlive(
        () => serviceBackends(`query like 'COPY records%' and wait_event_type = 'Lock'`).then((p) => (p.length ? p : undefined)),
        'the upload COPY to wait',
        30_000,
      );
      await terminate(copying);
      response = await sent;
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    assert.equal(response.status, 503, JSON.stringify(response.body));
    assert.match(response.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(typeof response.body.detail, 'string');

    const retried = await upload(service.baseUrl, device, batch, { gzip: true });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.deepEqual([retried.body.stored, retried.body.duplicate], [batch.length, false]);
    assert.equal((await upload(service.baseUrl, device, batch, { gzip: true })).body.duplicate, true);
    const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from records where device_id = $1', [device.id]);
    assert.equal(Number(rows[0]!.n), first.length + batch.length, 'the batch is stored exactly once');
    await assertAlive();
  });

  it('keeps answering after its idle pooled and LISTEN connections are terminated', async () => {
    const device = await createDevice(db.orm, acme);
    assert.equal((await upload(service.baseUrl, device, drive('2026-08-01T08:00:00Z', 10))).status, 200);
    const idle = await serviceBackends(`state = 'idle'`);
    assert.ok(idle.length >= 3, `the pools hold idle connections (${idle.length})`);
    await terminate(idle);
    await waitAlive(async () => (await serviceBackends(`pid = any('{${idle.join(',')}}'::int[])`)).length === 0, 'the terminated backends to be gone');

    assert.equal((await upload(service.baseUrl, device, drive('2026-08-01T09:00:00Z', 10))).status, 200);
    assert.equal((await request(service.baseUrl, 'GET', '/tasks/', { token: acme.apiToken })).status, 200);
    assert.equal((await request(service.baseUrl, 'GET', '/readyz')).status, 200);
    await assertAlive();
  });

  it('answers 503 while PostgreSQL is unreachable, logs it once, and recovers by itself', async () => {
    const device = await createDevice(db.orm, acme);
    const batch = drive('2026-09-01T08:00:00Z', 30);
    // The faults of the tests before must be over (each logged a warning, then PostgreSQL back).
    const said = (level: number) => logsSince(0).filter((l) => l.level === level && /PostgreSQL/.test(l.msg)).length;
    await waitAlive(async () => said(40) === said(30), 'the earlier faults to be over');
    const logOffset = service.output().length;

    await proxy.cut();
    const ready = await request<{ detail: string }>(service.baseUrl, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.body.detail, /postgres/);
    for (let i = 0; i < 5; i++) {
      const refused = await upload(service.baseUrl, device, batch);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
    }
    const tasks = await request(service.baseUrl, 'GET', '/tasks/', { token: acme.apiToken });
    assert.equal(tasks.status, 503);
    assert.match(tasks.headers.get('retry-after') ?? '', /^\d+$/);
    const query = await request<GraphQLResponse<unknown>>(service.baseUrl, 'POST', '/graphql', { token: acme.apiToken, body: { query: '{ trips(first: 1) { totalCount } }' } });
    assert.equal(query.status, 503);
    assert.match(query.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(query.body.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE', JSON.stringify(query.body));
    await assertAlive();

    await proxy.restore();
    await waitAlive(async () => (await request(service.baseUrl, 'GET', '/readyz')).status === 200, '/readyz to recover', 10_000);
    const stored = await upload(service.baseUrl, device, batch);
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    assert.deepEqual([stored.body.stored, stored.body.duplicate], [batch.length, false]);
    assert.equal((await gql(service.baseUrl, '{ trips(first: 1) { totalCount } }', {}, acme.apiToken)).errors, undefined);

    const back = await waitAlive(async () => logsSince(logOffset).some((l) => l.level === 30 && /PostgreSQL/.test(l.msg)), 'the log to say PostgreSQL is back');
    assert.ok(back);
    const logs = logsSince(logOffset);
    assert.deepEqual(
      logs.filter((l) => l.level >= 50).map((l) => l.msg),
      [],
      'no error lines for an outage',
    );
    assert.equal(logs.filter((l) => l.level === 40 && /PostgreSQL/.test(l.msg)).length, 1, `one warning for the outage:\n${logs.map((l) => l.msg).join('\n')}`);
    await assertAlive();
  });
});
