import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { verifyDownloadSignature } from '../../src/notify/download-link.js';
import { writeSignal } from '../factories/signals.js';
import { DeliveriesDocument, RedeliverDocument, RotateTriggerSecretDocument, TriggerDocument } from '../generated/graphql.js';
import { gql } from '../support/http.js';
import { createFleet, createTrigger, type Fleet, waitForDelivery, webhookTrigger } from '../support/notify-fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { sleep, waitFor } from '../support/wait.js';
import { startWebhookReceiver, verifyWithStandardWebhooks, type WebhookReceiver } from '../support/webhook-receiver.js';

interface Envelope {
  type: string;
  timestamp: string;
  data: {
    event_id: string;
    reason: string;
    task: { id: number; state: string };
    trip: { id: string; start_time_utc: string };
    device: { id: string; unit_id: string; vehicle_id: number; name: string };
    result: { bytes: number; sha256: string; records: number; first_ts: string; last_ts: string; download_url: string };
  };
}

describe('webhooks: Standard Webhooks signatures, retries, redirects, 410, limits', () => {
  let t: TestApp;
  let acme: Fleet;
  let receiver: WebhookReceiver;

  before(async () => {
    t = await startTestApp({ DELIVERY_RETRY_SECONDS: '0.2,0.2,0.2', WEBHOOK_TIMEOUT_MS: '1500', PUBLIC_URL: 'https://exports.example.test' });
    acme = await createFleet(t.db.orm, t.config, 'Acme');
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  const token = (): string => acme.customer.apiToken;
  const hooksOf = (webhookId: string) => receiver.received.filter((r) => r.headers['webhook-id'] === webhookId);

  it('sends the announcement signed so that the standardwebhooks package verifies it', async () => {
    const { id, secret } = await createTrigger(
      t.baseUrl,
      token(),
      webhookTrigger(receiver.url, { webhook: { url: receiver.url, headers: [{ name: 'X-Fleet', value: 'north' }] } }),
    );
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const signal = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);

    const delivery = await waitForDelivery(t.baseUrl, token(), id, ['DELIVERED']);
    const [hook, ...more] = hooksOf(delivery.webhookId!);
    assert.ok(hook);
    assert.equal(more.length, 0);
    const body = verifyWithStandardWebhooks(secret, hook) as Envelope;
    assert.equal(hook.headers['content-type'], 'application/json');
    assert.equal(hook.headers['x-fleet'], 'north');
    assert.equal(body.type, 'trip_export_finished');
    assert.equal(body.timestamp, signal.createdAt);
    assert.equal(body.data.event_id, signal.id);
    assert.equal(body.data.reason, 'finished');
    assert.deepEqual(body.data.task, signal.payload.task);
    assert.deepEqual(body.data.device, signal.payload.device);
    assert.equal(body.data.trip.id, acme.trip.id);
    const { download_url: url, ...result } = body.data.result;
    assert.deepEqual(result, signal.payload.result);
    const link = new URL(url);
    assert.equal(`${link.origin}${link.pathname}`, `https://exports.example.test/tasks/${signal.taskId}/result/`);
    assert.ok(verifyDownloadSignature(t.config, signal.taskId, acme.customer.customerId, link.searchParams.get('expires'), link.searchParams.get('signature')));
    assert.ok(!verifyDownloadSignature(t.config, signal.taskId, 'another-customer', link.searchParams.get('expires'), link.searchParams.get('signature')));

    assert.equal(delivery.attempts, 1);
    assert.equal(delivery.eventId, signal.id);
    assert.equal(delivery.taskId, signal.taskId);
    assert.deepEqual(
      delivery.attemptLog.map((a) => [a.number, a.succeeded, a.statusCode]),
      [[1, true, 204]],
    );
    const trigger = await gql(t.baseUrl, TriggerDocument, { id }, token());
    assert.ok(trigger.data?.trigger.lastTriggered);
    await gql(t.baseUrl, 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id }, token());
  });

  it('retries a failing receiver with the same webhook-id until it accepts, recording every attempt', async () => {
    const { id, secret } = await createTrigger(t.baseUrl, token(), webhookTrigger(receiver.url));
    receiver.script({ status: 500, body: 'boom' }, { status: 503 });
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);

    const delivery = await waitForDelivery(t.baseUrl, token(), id, ['DELIVERED']);
    const hooks = hooksOf(delivery.webhookId!);
    assert.equal(hooks.length, 3, 'three requests, one webhook-id');
    for (const hook of hooks) verifyWithStandardWebhooks(secret, hook);
    // The same announcement each time; only the freshly signed download link may differ.
    const withoutLink = (body: string) => {
      const parsed = JSON.parse(body) as Envelope;
      return { ...parsed, data: { ...parsed.data, result: { ...parsed.data.result, download_url: undefined } } };
    };
    assert.deepEqual(withoutLink(hooks[2]!.body), withoutLink(hooks[0]!.body));
    assert.equal(delivery.attempts, 3);
    assert.deepEqual(
      delivery.attemptLog.map((a) => [a.number, a.succeeded, a.statusCode]),
      [
        [1, false, 500],
        [2, false, 503],
        [3, true, 204],
      ],
    );
    assert.equal(delivery.attemptLog[0]?.response, 'boom');
    assert.match(delivery.attemptLog[1]?.error ?? '', /HTTP 503/);
    assert.ok(delivery.attemptLog.every((a) => a.durationMs >= 0 && a.startedAt));
    await gql(t.baseUrl, 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id }, token());
  });

  it('counts a redirect as a failure and does not follow it', async () => {
    const { id } = await createTrigger(t.baseUrl, token(), webhookTrigger(receiver.url));
    const elsewhere = receiver.url.replace('/hooks/trip-export', '/elsewhere');
    receiver.script({ status: 302, headers: { location: elsewhere } });
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);

    const delivery = await waitForDelivery(t.baseUrl, token(), id, ['DELIVERED']);
    assert.equal(delivery.attempts, 2);
    assert.equal(delivery.attemptLog[0]?.statusCode, 302);
    assert.equal(delivery.attemptLog[0]?.succeeded, false);
    assert.match(delivery.attemptLog[0]?.error ?? '', /redirect 302 not followed/);
    assert.ok(!receiver.received.some((r) => r.path === '/elsewhere'), 'the Location was never requested');
    await gql(t.baseUrl, 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id }, token());
  });

  it('gives up after the retry schedule: FAILED, and the trigger says why', async () => {
    const failing = await startWebhookReceiver({ status: 500 });
    try {
      const { id } = await createTrigger(t.baseUrl, token(), webhookTrigger(failing.url));
      await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
      const delivery = await waitForDelivery(t.baseUrl, token(), id, ['FAILED']);
      assert.equal(delivery.attempts, 4, 'the first attempt and three retries');
      assert.equal(failing.received.length, 4);
      assert.match(delivery.lastError ?? '', /gave up after 4 attempts: the receiver answered HTTP 500/);
      const trigger = await gql(t.baseUrl, TriggerDocument, { id }, token());
      assert.equal(trigger.data?.trigger.lastError, delivery.lastError);
      assert.equal(trigger.data?.trigger.enabled, true);

      // redeliver: queued again with a fresh schedule, same webhook-id.
      failing.fallback = { status: 200 };
      const again = await gql(t.baseUrl, RedeliverDocument, { deliveryId: delivery.id }, token());
      assert.equal(again.data?.redeliver.state, 'PENDING');
      const redelivered = await waitForDelivery(t.baseUrl, token(), id, ['DELIVERED']);
      assert.equal(redelivered.attempts, 5);
      assert.equal(new Set(failing.received.map((r) => r.headers['webhook-id'])).size, 1);
      const twice = await gql(t.baseUrl, RedeliverDocument, { deliveryId: delivery.id }, token());
      assert.equal(twice.data?.redeliver.state, 'PENDING');
      await waitForDelivery(t.baseUrl, token(), id, ['DELIVERED']);
      await gql(t.baseUrl, 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id }, token());
    } finally {
      await failing.close();
    }
  });

  it('disables the trigger when the receiver answers 410 Gone', async () => {
    const gone = await startWebhookReceiver({ status: 410 });
    try {
      const { id } = await createTrigger(t.baseUrl, token(), webhookTrigger(gone.url));
      await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
      const delivery = await waitForDelivery(t.baseUrl, token(), id, ['FAILED']);
      assert.equal(delivery.attempts, 1, 'no retries after 410');
      const trigger = await gql(t.baseUrl, TriggerDocument, { id }, token());
      assert.equal(trigger.data?.trigger.enabled, false);
      assert.match(trigger.data?.trigger.lastError ?? '', /410/);
      const redeliver = await gql(t.baseUrl, RedeliverDocument, { deliveryId: delivery.id }, token());
      assert.equal(redeliver.errors?.[0]?.extensions?.code, 'CONFLICT');

      // A disabled trigger no longer fires.
      const next = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
      await waitFor(async () => (await t.db.pool.query('SELECT 1 FROM signals WHERE id = $1 AND fanned_out_at IS NOT NULL', [next.id])).rowCount === 1, 'fan-out');
      const all = await gql(t.baseUrl, DeliveriesDocument, { triggerId: id }, token());
      assert.equal(all.data?.deliveries.length, 1);
      assert.equal(gone.received.length, 1);
    } finally {
      await gone.close();
    }
  });

  it('stops waiting after WEBHOOK_TIMEOUT_MS and reads at most 64 KiB of an answer', async () => {
    const { id } = await createTrigger(t.baseUrl, token(), webhookTrigger(receiver.url));
    // The second answer's body never ends: only a reader that stops at 64 KiB gets past it
    // before the timeout.
    receiver.script({ status: 200, delayMs: 4000 }, { status: 200, endless: true });
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    const delivery = await waitForDelivery(t.baseUrl, token(), id, ['DELIVERED']);
    assert.equal(delivery.attempts, 2);
    assert.match(delivery.attemptLog[0]?.error ?? '', /no complete answer within 1.5 s/);
    assert.equal(delivery.attemptLog[1]?.succeeded, true, 'ended by the size cap; the timeout would have failed it');
    assert.equal(delivery.attemptLog[1]?.response?.length, 1024, 'the stored excerpt is cut at 1 KiB');
    await gql(t.baseUrl, 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id }, token());
  });

  it('signs with both secrets while a rotation overlaps, then only with the new one', async () => {
    const { id, secret: oldSecret } = await createTrigger(t.baseUrl, token(), webhookTrigger(receiver.url));
    const rotated = await gql(t.baseUrl, RotateTriggerSecretDocument, { id, keepPreviousSeconds: 3600 }, token());
    const newSecret = rotated.data!.rotateTriggerSecret.webhookSecret;
    assert.notEqual(newSecret, oldSecret);
    assert.ok(rotated.data!.rotateTriggerSecret.trigger.previousSecretExpiresAt);
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    const first = await waitForDelivery(t.baseUrl, token(), id, ['DELIVERED']);
    const hook = hooksOf(first.webhookId!)[0]!;
    assert.equal(String(hook?.headers['webhook-signature']).split(' ').length, 2);
    verifyWithStandardWebhooks(oldSecret, hook);
    verifyWithStandardWebhooks(newSecret, hook);

    const ended = await gql(t.baseUrl, RotateTriggerSecretDocument, { id, keepPreviousSeconds: 0 }, token());
    const latest = ended.data!.rotateTriggerSecret.webhookSecret;
    await sleep(50);
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    const second = await waitFor(async () => {
      const res = await gql(t.baseUrl, DeliveriesDocument, { triggerId: id, state: 'DELIVERED' }, token());
      return res.data?.deliveries.find((d) => d.id !== first.id);
    }, 'the second delivery');
    const hook2 = hooksOf(second.webhookId!)[0]!;
    assert.equal(String(hook2?.headers['webhook-signature']).split(' ').length, 1);
    verifyWithStandardWebhooks(latest, hook2);
    assert.throws(() => verifyWithStandardWebhooks(newSecret, hook2));
    await gql(t.baseUrl, 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id }, token());
  });

  it('renders a custom body template as JSON over the announcement, still signed', async () => {
    const template =
      '{"text": "Trip {{trip.id}} of {{device.name}} ready", "url": {{result.download_url}}, "records": {{result.records}}, "by": {{trigger.description}}, "nope": {{device.missing}}}';
    const { id, secret } = await createTrigger(
      t.baseUrl,
      token(),
      webhookTrigger(receiver.url, { description: 'to "chat"', webhook: { url: receiver.url, bodyTemplate: template } }),
    );
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    const delivery = await waitForDelivery(t.baseUrl, token(), id, ['DELIVERED']);
    const hook = hooksOf(delivery.webhookId!)[0]!;
    const body = verifyWithStandardWebhooks(secret, hook) as Record<string, unknown>;
    assert.equal(body.text, `Trip ${acme.trip.id} of Van ready`);
    assert.match(String(body.url), /^https:\/\/exports\.example\.test\/tasks\/\d+\/result\/\?expires=\d+&signature=/);
    assert.equal(body.records, 678);
    assert.equal(body.by, 'to "chat"');
    assert.equal(body.nope, null);
    await gql(t.baseUrl, 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id }, token());
  });
});
