import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { drive, upload } from '../factories/records.js';
import { request } from '../support/http.js';
import { createTrigger, waitForDelivery, webhookTrigger } from '../support/notify-fixtures.js';
import { freePort } from '../support/process.js';
import { NO_REDIS, TEST_REDIS_URL } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

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

  it('counts export runs, their time and size, and webhook attempts in /metrics', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const device = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
      const trigger = await createTrigger(t.baseUrl, acme.apiToken, webhookTrigger(receiver.url));
      const before = await (await fetch(`${t.baseUrl}/metrics`)).text();
      assert.equal((await upload(t.baseUrl, device, drive('2026-06-02T10:00:00Z', 30, 5))).status, 200);
      await waitForDelivery(t.baseUrl, acme.apiToken, trigger.id, ['DELIVERED'], 20_000);
      const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
      const grew = (name: string, labels = ''): number => metricValue(text, name, labels) - metricValue(before, name, labels);

      assert.equal(grew('trip_export_exports_total', '{state="SUCCESS"}'), 1);
      assert.equal(grew('trip_export_export_duration_seconds_count'), 1);
      assert.ok(grew('trip_export_export_duration_seconds_sum') > 0);
      const tasks = await request<{ kwargs: { trip_id: string }; result: { bytes: number } | null }[]>(t.baseUrl, 'GET', '/tasks/', { token: acme.apiToken });
      const exported = tasks.body.find((task) => task.result !== null);
      assert.equal(grew('trip_export_export_size_bytes_count'), 1);
      assert.equal(grew('trip_export_export_size_bytes_sum'), exported?.result?.bytes, 'the size of the file the task reports');
      assert.equal(grew('trip_export_deliveries_total', '{channel="webhook",outcome="success"}'), 1);
    } finally {
      await receiver.close();
    }
  });

  it('echoes a request id on every response', async () => {
    const given = await fetch(`${t.baseUrl}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(given.headers.get('x-request-id'), 'abc-123');
    const made = await fetch(`${t.baseUrl}/healthz`);
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});
