import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startCli } from '../support/cli.js';
import { freePort, PROJECT_ROOT, startServiceProcess } from '../support/process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';

/** Once the schema has the subscription, the demo must have heard the export announced. */
const SUBSCRIBABLE = readFileSync(path.join(PROJECT_ROOT, 'schema', 'schema.graphql'), 'utf8').includes('tripExportFinished(');

/** What the summary says, read back from the demo's output. */
function summaryOf(stdout: string) {
  const tripId = /^ {2}trip +([0-9a-f-]{36})/m.exec(stdout)?.[1];
  const records = /^ {2}records +([\d,]+) uploaded/m.exec(stdout)?.[1];
  const file = /^ {2}file +(\S+) +\(([\d,]+) bytes\)/m.exec(stdout);
  const sha = /^ {2}sha-256 +([0-9a-f]{64})$/m.exec(stdout)?.[1];
  assert.ok(tripId && records && file && sha, `no summary in:\n${stdout}`);
  if (SUBSCRIBABLE) assert.match(stdout, /^ {2}announced +tripExportFinished arrived over graphql-ws/m);
  return { tripId, records: Number(records.replace(/,/g, '')), file: file[1]!, bytes: Number(file[2]!.replace(/,/g, '')), sha };
}

describe('npm run demo', () => {
  let outDir: string;
  before(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'trip-export-demo-'));
  });
  after(() => rm(outDir, { recursive: true, force: true }));

  it('drives a trip through a running service, gets it exported and checks the file', async () => {
    const db: TestDatabase = await createTestDatabase();
    const service = await startServiceProcess({ DATABASE_URL: db.url, EXPORT_MIN_DELAY_SECONDS: '1', JOB_POLL_MS: '200', EXPORT_DIR: path.join(outDir, 'exports') });
    try {
      const demo = startCli('demo', ['--url', service.baseUrl, '--out', outDir], { DATABASE_URL: db.url });
      const { code, stdout } = await demo.exited;
      assert.equal(code, 0, `${demo.output()}\n--- service ---\n${service.output()}`);
      assert.match(stdout, /Using the trip-export service at/);
      assert.match(stdout, /asks for the export now with POST \/tasks\//, 'says why it asks for the export');
      const summary = summaryOf(stdout);
      assert.equal((await stat(summary.file)).size, summary.bytes);
      assert.match(stdout, new RegExp(`curl -s ${service.baseUrl}/tasks/ -H "authorization: APIToken \\$TOKEN"`));
      assert.match(stdout, new RegExp(`curl -s -o ${summary.tripId}\\.json\\.gz ${service.baseUrl}/tasks/\\d+/result/`));
      assert.match(stdout, /curl -s -X POST .*\/tasks\/\d+\/clear_result\//);
      assert.match(stdout, /import \{ createClient \} from 'graphql-ws'/);

      const stored = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM records r JOIN trips t ON t.device_id = r.device_id WHERE t.id = $1', [summary.tripId]);
      assert.equal(Number(stored.rows[0]!.n), summary.records, 'every uploaded record is stored');
      const tasks = await db.pool.query<{ state: string }>('SELECT state FROM tasks WHERE trip_id = $1', [summary.tripId]);
      assert.deepEqual(tasks.rows, [{ state: 'SUCCESS' }]);

      const refused = await startCli('demo', ['--url', service.baseUrl, '--token', 'tex_not-a-token', '--out', outDir], {}).exited;
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /demo failed: creating the device failed: .*401|demo failed: creating the device failed: .*[Aa]uthentication/);
    } finally {
      await service.stop();
      await db.drop();
    }
  });

  it('on a fresh machine starts its own service on the embedded PostgreSQL with a short export delay, and stops it', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'trip-export-demo-data-'));
    // As root, the cluster runs as an unprivileged user that must reach the folder.
    await chmod(dataDir, 0o755);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const demo = startCli('demo', ['--out', outDir], {
        DEMO_URL: url,
        DATABASE_URL: undefined,
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: String(await freePort()),
        EXPORT_DIR: path.join(dataDir, 'exports'),
        JOB_POLL_MS: '200',
      });
      const { code, stdout } = await demo.exited;
      assert.equal(code, 0, demo.output());
      assert.match(stdout, /starting one/);
      assert.match(stdout, /lowered the export delay to 2 s for its own service/);
      assert.doesNotMatch(stdout, /POST \/tasks\//, 'its own service exports by itself');
      summaryOf(stdout);
      assert.match(stdout, /Stopping the service the demo started/);
      await assert.rejects(fetch(`${url}/healthz`), 'the service is gone');
      assert.equal(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), false, 'the embedded PostgreSQL stopped with it');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
