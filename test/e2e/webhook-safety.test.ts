import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { writeSignal } from '../factories/signals.js';
import { CreateTriggerDocument, TriggerDocument } from '../generated/graphql.js';
import { gql } from '../support/http.js';
import { createFleet, createTrigger, type Fleet, waitForDelivery, webhookTrigger } from '../support/notify-fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The allowance off, as in production. The triggers are saved through an instance that
 * allows loopback (standing in for a name that resolved to a public address when saved and
 * to a private one later); the worker that sends has the allowance off and must refuse.
 */
describe('webhooks to private addresses are refused unless allowed', () => {
  let db: TestDatabase;
  let api: TestApp;
  let worker: TestApp;
  let receiver: WebhookReceiver;
  let acme: Fleet;

  before(async () => {
    db = await createTestDatabase();
    receiver = await startWebhookReceiver();
    api = await startTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }, { db, role: 'api' });
    worker = await startTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false', DELIVERY_RETRY_SECONDS: '0.1' }, { db, role: 'worker' });
    acme = await createFleet(db.orm, api.config, 'Acme');
  });
  after(async () => {
    await api.close();
    await worker.close();
    await receiver.close();
    await db.drop();
  });

  it('refuses at send time, for an IP literal and for a name resolving to loopback, and retries then fails', async () => {
    const literal = await createTrigger(api.baseUrl, acme.customer.apiToken, webhookTrigger(receiver.url));
    const byName = await createTrigger(api.baseUrl, acme.customer.apiToken, webhookTrigger(receiver.url.replace('127.0.0.1', 'localhost')));
    await writeSignal(db.orm, acme.customer, acme.device, acme.trip);

    for (const [trigger, pattern] of [
      [literal, /refused to connect to 127\.0\.0\.1: loopback/],
      [byName, /refused to connect to localhost \((127\.0\.0\.1|::1)\): loopback/],
    ] as const) {
      const delivery = await waitForDelivery(api.baseUrl, acme.customer.apiToken, trigger.id, ['FAILED']);
      assert.equal(delivery.attempts, 2, 'refusals are retried: the name may point elsewhere later');
      assert.ok(
        delivery.attemptLog.every((a) => a.statusCode === null && pattern.test(a.error ?? '')),
        JSON.stringify(delivery.attemptLog),
      );
      const saved = await gql(api.baseUrl, TriggerDocument, { id: trigger.id }, acme.customer.apiToken);
      assert.match(saved.data?.trigger.lastError ?? '', /gave up after 2 attempts: refused/);
    }
    assert.equal(receiver.received.length, 0, 'nothing reached the private address');
  });

  it('refuses private literals and localhost when a trigger is saved with the allowance off', async () => {
    const strictApi = await startTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' }, { db, role: 'api' });
    try {
      const refused = ['http://127.0.0.1:8080/x', 'http://10.1.2.3/x', 'http://[::1]/x', 'http://169.254.169.254/latest', 'http://localhost/x', 'http://[::ffff:192.168.1.1]/x'];
      for (const url of refused) {
        const res = await gql(strictApi.baseUrl, CreateTriggerDocument, { input: webhookTrigger(url) }, acme.customer.apiToken);
        assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', url);
        assert.match(res.errors?.[0]?.message ?? '', /non-public address/);
      }
      const ok = await gql(strictApi.baseUrl, CreateTriggerDocument, { input: webhookTrigger('https://hooks.example.test/x') }, acme.customer.apiToken);
      assert.equal(ok.errors, undefined);
    } finally {
      await strictApi.close();
    }
  });
});
