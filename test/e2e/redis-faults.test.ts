import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { loadConfig } from '../../src/config/config.js';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { drive, upload } from '../factories/records.js';
import { request } from '../support/http.js';
import { type ServiceProcess, startServiceProcess } from '../support/process.js';
import { NO_REDIS, TEST_REDIS_URL } from '../support/redis.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

const JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

interface Readiness {
  checks: Record<string, { ok: boolean }>;
}

/**
 * Redis carries subscription events between instances and the throttling counters. Behind a
 * loopback proxy that the test cuts, it goes away under a running service as in an outage.
 */
describe('Redis going away never ends the process', { skip: NO_REDIS }, () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let service: ServiceProcess;
  let acme: TestCustomer;
  const exportDir = path.join(tmpdir(), `trip-export-redis-faults-${randomBytes(6).toString('hex')}`);

  before(async () => {
    db = await createTestDatabase();
    const redis = new URL(TEST_REDIS_URL);
    proxy = await startTcpProxy(Number(redis.port || 6379), redis.hostname);
    const viaProxy = new URL(TEST_REDIS_URL);
    viaProxy.port = String(proxy.port);
    service = await startServiceProcess({ DATABASE_URL: db.url, REDIS_URL: viaProxy.toString(), JWT_SECRET, EXPORT_DIR: exportDir, MONGODB_URL: undefined });
    acme = await createCustomer(db.orm, loadConfig({ JWT_SECRET }));
  });

  after(async () => {
    await service?.stop('SIGKILL');
    await proxy?.close();
    await db?.drop();
    await rm(exportDir, { recursive: true, force: true });
  });

  it('keeps storing uploads while Redis is away, says so in /readyz, and recovers by itself', async () => {
    const readiness = () => request<Readiness>(service.baseUrl, 'GET', '/readyz');
    await waitFor(async () => (await readiness()).status === 200, 'ready with Redis');
    const device = await createDevice(db.orm, acme);

    await proxy.cut();
    const down = await waitFor(async () => {
      const ready = await readiness();
      return ready.status === 503 ? ready : undefined;
    }, '/readyz to notice Redis is gone');
    assert.equal(down.body.checks.redis?.ok, false);
    assert.equal(down.body.checks.postgres?.ok, true);
    // Throttling counts in Redis; without it requests go on unthrottled rather than refused.
    const stored = await upload(service.baseUrl, device, drive('2026-06-03T08:00:00Z', 20, 5));
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    assert.equal((await request(service.baseUrl, 'GET', '/tasks/', { token: acme.apiToken })).status, 200);

    await proxy.restore();
    await waitFor(async () => (await readiness()).status === 200, '/readyz back to 200 once Redis answers', 20_000);
    assert.equal(service.child.exitCode, null, `the service exited:\n${service.output().slice(-3000)}`);
    assert.equal(service.child.signalCode, null);
  });
});
