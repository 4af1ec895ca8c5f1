import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { drive, upload } from '../factories/records.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { request } from '../support/http.js';
import { freePort } from '../support/process.js';
import { NO_REDIS, TEST_REDIS_URL } from '../support/redis.js';

const metricValue = (text: string, name: string, labels = ''): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
};

describe('health, readiness and metrics', () => {
  let t: TestApp;
  let acme: TestCustomer;

  before(async () => {
    t = await startTestApp(NO_REDIS ? {} : { REDIS_URL: TEST_REDIS_URL });
    acme = await createCustomer(t.db.orm, t.config);
  });
  after(() => t.close());

  it('answers /healthz and /readyz when PostgreSQL and Redis are reachable', { skip: NO_REDIS }, async () => {
    const health = await request<{ status: string }>(t.baseUrl, 'GET', '/healthz');
    assert.deepEqual([health.status, health.body.status], [200, 'ok']);
    const ready = await request<{ status: string; checks: Record<string, { ok: boolean }> }>(t.baseUrl, 'GET', '/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.checks.postgres?.ok, true);
    assert.equal(ready.body.checks.redis?.ok, true);
  });

  it('answers 503 naming the dependency that is down', async () => {
    const broken = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }, { db: t.db });
    try {
      const ready = await request<{ detail: string; checks: Record<string, { ok: boolean; error?: string }> }>(broken.baseUrl, 'GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body.detail, /redis/);
      assert.equal(ready.body.checks.postgres?.ok, true);
      assert.equal(ready.body.checks.redis?.ok, false);
    } finally {
      await broken.close();
    }
  });

  it('counts a real upload in /metrics', async () => {
    const device = await createDevice(t.db.orm, acme);
    const records = drive('2026-06-01T10:00:00Z', 30, 5);
    const before = await (await fetch(`${t.baseUrl}/metrics`)).text();
    assert.equal((await upload(t.baseUrl, device, records)).status, 200);
    assert.equal((await upload(t.baseUrl, device, records)).status, 200);
    assert.equal((await upload(t.baseUrl, device, [{ '@t': 'x' }])).status, 400);
    const response = await fetch(`${t.baseUrl}/metrics`);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.equal(metricValue(text, 'trip_export_records_ingested_total') - metricValue(before, 'trip_export_records_ingested_total'), records.length);
    assert.equal(metricValue(text, 'trip_export_upload_batches_total', '{outcome="stored"}'), 1);
    assert.equal(metricValue(text, 'trip_export_upload_batches_total', '{outcome="duplicate"}'), 1);
    assert.equal(metricValue(text, 'trip_export_upload_batches_total', '{outcome="rejected"}'), 1);
    assert.equal(metricValue(text, 'trip_export_trips_started_total'), 1);
    assert.equal(metricValue(text, 'trip_export_trips_ended_total'), 1);
  });

  it('echoes a request id on every response', async () => {
    const given = await fetch(`${t.baseUrl}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(given.headers.get('x-request-id'), 'abc-123');
    const made = await fetch(`${t.baseUrl}/healthz`);
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});
