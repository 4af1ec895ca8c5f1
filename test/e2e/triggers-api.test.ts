import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { writeSignal } from '../factories/signals.js';
import { CreateTriggerDocument, DeleteTriggerDocument, TestTriggerDocument, TriggerDocument, TriggersDocument, UpdateTriggerDocument } from '../generated/graphql.js';
import { gql, request } from '../support/http.js';
import { createFleet, createTrigger, type Fleet, waitForDelivery, webhookTrigger } from '../support/notify-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { startWebhookReceiver, verifyWithStandardWebhooks, type WebhookReceiver } from '../support/webhook-receiver.js';

interface TriggerJson {
  id: string;
  type: string;
  signal: string | null;
  device: string | null;
  enabled: boolean;
  description: string;
  min_interval_seconds: number;
  last_triggered: string | null;
  webhook_secret?: string;
  actions: { email: { recipients: string[] } | null; webhook: { url: string; headers: Record<string, string>; body_template: string | null } | null };
}

describe('triggers over GraphQL and REST', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let receiver: WebhookReceiver;
  let acme: Fleet;
  let globex: Fleet;

  before(async () => {
    sink = await startSmtpSink();
    receiver = await startWebhookReceiver();
    t = await startTestApp({ SMTP_URL: sink.url });
    acme = await createFleet(t.db.orm, t.config, 'Acme');
    globex = await createFleet(t.db.orm, t.config, 'Globex');
  });
  after(async () => {
    await t.close();
    await sink.close();
    await receiver.close();
  });

  it('creates, reads, updates and deletes a trigger over GraphQL; the secret is shown once and stored sealed', async () => {
    const created = await gql(
      t.baseUrl,
      CreateTriggerDocument,
      {
        input: { ...webhookTrigger(receiver.url), deviceId: acme.device.id, minIntervalSeconds: 60, email: { recipients: ['A@Fleet.test'] } },
      },
      acme.customer.apiToken,
    );
    assert.equal(created.errors, undefined);
    const { trigger, webhookSecret } = created.data!.createTrigger;
    assert.match(webhookSecret, /^whsec_/);
    assert.deepEqual(trigger.device, { id: acme.device.id });
    assert.deepEqual(trigger.actions, { email: { recipients: ['a@fleet.test'] }, webhook: { url: receiver.url, headers: [], bodyTemplate: null } });
    assert.equal(trigger.lastTriggered, null);

    const { rows } = await t.db.pool.query<{ row: string; sealed: string }>('SELECT row_to_json(t)::text AS row, webhook_secret_sealed AS sealed FROM triggers t WHERE id = $1', [
      trigger.id,
    ]);
    assert.ok(!rows[0]!.row.includes(webhookSecret.slice(6)), 'the secret is not stored in clear');
    assert.match(rows[0]!.sealed, /^v1:/);
    assert.ok(!JSON.stringify((await gql(t.baseUrl, TriggerDocument, { id: trigger.id }, acme.customer.apiToken)).data).includes(webhookSecret));

    const updated = await gql(
      t.baseUrl,
      UpdateTriggerDocument,
      {
        id: trigger.id,
        input: { description: 'renamed', email: null, deviceId: null, webhook: { url: receiver.url, headers: [{ name: 'Authorization', value: 'Bearer abc' }] } },
      },
      acme.customer.apiToken,
    );
    assert.equal(updated.errors, undefined);
    assert.equal(updated.data?.updateTrigger.description, 'renamed');
    assert.equal(updated.data?.updateTrigger.device, null);
    assert.equal(updated.data?.updateTrigger.minIntervalSeconds, 60, 'untouched fields keep their value');
    assert.deepEqual(updated.data?.updateTrigger.actions, { email: null, webhook: { url: receiver.url, headers: [{ name: 'Authorization', value: '****' }], bodyTemplate: null } });

    const listed = await gql(t.baseUrl, TriggersDocument, {}, acme.customer.apiToken);
    assert.deepEqual(
      listed.data?.triggers.map((x) => x.id),
      [trigger.id],
    );
    const deleted = await gql(t.baseUrl, DeleteTriggerDocument, { id: trigger.id }, acme.customer.apiToken);
    assert.equal(deleted.data?.deleteTrigger, trigger.id);
    assert.equal((await gql(t.baseUrl, TriggerDocument, { id: trigger.id }, acme.customer.apiToken)).errors?.[0]?.extensions?.code, 'NOT_FOUND');
  });

  it('answers BAD_USER_INPUT naming what is wrong', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ signal: 'trip_started' }, /needs signal, one of: trip_export_finished/],
      [{ type: 'EVENT', signal: null }, /EVENT trigger needs eventTag/],
      [{ email: { recipients: ['not-an-address'] } }, /"not-an-address" is not an e-mail address/],
      [{ email: { recipients: [] } }, /at least one recipient/],
      [{ webhook: { url: 'ftp://example.test/x' } }, /http or https/],
      [{ webhook: { url: 'https://user:pw@example.test/x' } }, /must not contain credentials/],
      [{ webhook: { url: 'https://example.test/', headers: [{ name: 'Webhook-Signature', value: 'x' }] } }, /cannot be overridden/],
      [{ webhook: { url: 'https://example.test/', headers: [{ name: 'X-A', value: 'a\r\nb' }] } }, /single line/],
      [{ webhook: { url: 'https://example.test/', bodyTemplate: '{"a": {{trip.__proto__}}}' } }, /not a placeholder/],
      [{ webhook: { url: 'https://example.test/', bodyTemplate: '{"a": {{trip.id}}' } }, /does not render to JSON/],
      [{ minIntervalSeconds: -1 }, /minIntervalSeconds/],
    ];
    for (const [change, message] of cases) {
      const res = await gql(t.baseUrl, CreateTriggerDocument, { input: { ...webhookTrigger('https://example.test/'), ...change } }, acme.customer.apiToken);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(change));
      assert.match(res.errors?.[0]?.message ?? '', message);
    }
    const event = await gql(t.baseUrl, CreateTriggerDocument, { input: { description: 'rfid', type: 'EVENT', eventTag: 'vehicle/rfid/*' } }, acme.customer.apiToken);
    assert.equal(event.data?.createTrigger.trigger.eventTag, 'vehicle/rfid/*');
    assert.equal(event.data?.createTrigger.trigger.signal, null);
    await gql(t.baseUrl, DeleteTriggerDocument, { id: event.data.createTrigger.trigger.id }, acme.customer.apiToken);
  });

  it('manages triggers at /automation/triggers/ in the legacy JSON shape', async () => {
    const auth = { token: acme.customer.apiToken };
    const created = await request<TriggerJson>(t.baseUrl, 'POST', '/automation/triggers/', {
      ...auth,
      body: { description: 'rest', type: 'signal', signal: 'trip_export_finished', device: acme.device.id, actions: { webhook: { url: receiver.url, headers: { 'X-A': '1' } } } },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.webhook_secret ?? '', /^whsec_/);
    assert.equal(created.body.type, 'signal');
    assert.equal(created.body.device, acme.device.id);
    assert.deepEqual(created.body.actions, { email: null, webhook: { url: receiver.url, headers: { 'X-A': '****' }, body_template: null } });
    const id = created.body.id;

    const one = await request<TriggerJson>(t.baseUrl, 'GET', `/automation/triggers/${id}`, auth);
    assert.equal(one.status, 200);
    assert.equal(one.body.webhook_secret, undefined, 'never shown again');
    const patched = await request<TriggerJson>(t.baseUrl, 'PATCH', `/automation/triggers/${id}/`, {
      ...auth,
      body: { enabled: false, actions: { email: { recipients: ['x@fleet.test'] } } },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.enabled, false);
    assert.deepEqual(patched.body.actions.email, { recipients: ['x@fleet.test'] });
    assert.ok(patched.body.actions.webhook, 'the webhook action stays');
    const put = await request<TriggerJson>(t.baseUrl, 'PUT', `/automation/triggers/${id}/`, { ...auth, body: { description: 'put', min_interval_seconds: 30 } });
    assert.deepEqual([put.status, put.body.description, put.body.min_interval_seconds], [200, 'put', 30]);
    const reread = await request<TriggerJson>(t.baseUrl, 'GET', `/automation/triggers/${id}/`, auth);
    assert.deepEqual(
      [reread.body.description, reread.body.enabled, reread.body.min_interval_seconds, reread.body.actions.email],
      ['put', false, 30, { recipients: ['x@fleet.test'] }],
    );
    const list = await request<TriggerJson[]>(t.baseUrl, 'GET', '/automation/triggers/', auth);
    assert.deepEqual(
      list.body.map((x) => x.id),
      [id],
    );

    for (const [body, message] of [
      [{ description: 'x', type: 'nope' }, /type must be "signal" or "event"/],
      [{ description: 'x', type: 'signal', signal: 'trip_export_finished', enabled: 'yes' }, /enabled must be true or false/],
      [{ description: 'x', type: 'signal', signal: 'trip_export_finished', actions: { webhook: { url: 'https://e.test', headers: { a: 1 } } } }, /headers must be/],
      [[1, 2], /JSON object/],
    ] as const) {
      const res = await request<{ detail: string }>(t.baseUrl, 'POST', '/automation/triggers/', { ...auth, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.detail, message);
    }
    assert.equal((await request(t.baseUrl, 'GET', '/automation/triggers/')).status, 401);
    assert.equal((await request(t.baseUrl, 'DELETE', `/automation/triggers/${id}/`, auth)).status, 204);
    assert.equal((await request(t.baseUrl, 'GET', `/automation/triggers/${id}/`, auth)).status, 404);
  });

  it('testTrigger sends a signed sample through the webhook and an e-mail, storing nothing', async () => {
    const { id, secret } = await createTrigger(t.baseUrl, acme.customer.apiToken, webhookTrigger(receiver.url, { email: { recipients: ['test@fleet.test'] } }));
    const before = receiver.received.length;
    const res = await gql(t.baseUrl, TestTriggerDocument, { id }, acme.customer.apiToken);
    const results = res.data!.testTrigger;
    assert.deepEqual(results.map((r) => [r.channel, r.succeeded, r.statusCode]).sort(), [
      ['EMAIL', true, 250],
      ['WEBHOOK', true, 204],
    ]);
    const hook = receiver.received[before]!;
    assert.equal(hook.headers['webhook-id'], results.find((r) => r.channel === 'WEBHOOK')?.webhookId);
    const body = verifyWithStandardWebhooks(secret, hook) as { type: string; data: { trip: { test: boolean } } };
    assert.equal(body.type, 'trip_export_finished');
    assert.equal(body.data.trip.test, true);
    assert.ok(sink.mails.some((m) => m.subject?.startsWith('Trip export ready: Test vehicle')));
    const { rows } = await t.db.pool.query('SELECT 1 FROM deliveries WHERE trigger_id = $1', [id]);
    assert.equal(rows.length, 0);
    const trigger = await gql(t.baseUrl, TriggerDocument, { id }, acme.customer.apiToken);
    assert.equal(trigger.data?.trigger.lastTriggered, null, 'a test is not a firing');
    await gql(t.baseUrl, DeleteTriggerDocument, { id }, acme.customer.apiToken);
  });

  it("never shows or touches another customer's triggers and deliveries: NOT_FOUND / 404 everywhere", async () => {
    const { id } = await createTrigger(t.baseUrl, acme.customer.apiToken, webhookTrigger(receiver.url));
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    const delivery = await waitForDelivery(t.baseUrl, acme.customer.apiToken, id, ['DELIVERED']);
    const them = globex.customer.apiToken;
    const mine = await gql<{ deliveries: { id: string }[] }>(
      t.baseUrl,
      'query($t: ID!) { deliveries(taskId: $t, state: DELIVERED) { id } }',
      { t: delivery.taskId },
      acme.customer.apiToken,
    );
    assert.deepEqual(
      mine.data?.deliveries.map((d) => d.id),
      [delivery.id],
    );
    const none = await gql<{ deliveries: unknown[] }>(t.baseUrl, 'query($t: ID!) { deliveries(taskId: $t, state: FAILED) { id } }', { t: delivery.taskId }, acme.customer.apiToken);
    assert.deepEqual(none.data?.deliveries, []);

    const graphql: [string, Record<string, unknown>][] = [
      ['query($id: ID!) { trigger(id: $id) { id } }', { id }],
      ['mutation($id: ID!) { updateTrigger(id: $id, input: { description: "x" }) { id } }', { id }],
      ['mutation($id: ID!) { deleteTrigger(id: $id) }', { id }],
      ['mutation($id: ID!) { rotateTriggerSecret(id: $id) { webhookSecret } }', { id }],
      ['mutation($id: ID!) { testTrigger(id: $id) { succeeded } }', { id }],
      ['query($id: ID!) { deliveries(triggerId: $id) { id } }', { id }],
      ['query($id: ID!) { delivery(id: $id) { id attemptLog { number } trigger { id } } }', { id: delivery.id }],
      ['mutation($id: ID!) { redeliver(deliveryId: $id) { id } }', { id: delivery.id }],
      ['mutation($d: ID!) { createTrigger(input: { description: "x", type: SIGNAL, signal: "trip_export_finished", deviceId: $d }) { webhookSecret } }', { d: acme.device.id }],
      ['mutation($id: ID!, $d: ID!) { updateTrigger(id: $id, input: { deviceId: $d }) { id } }', { id, d: acme.device.id }],
    ];
    for (const [query, variables] of graphql) {
      const res = await gql(t.baseUrl, query, variables, them);
      assert.equal(res.errors?.[0]?.extensions?.code, 'NOT_FOUND', query);
      assert.equal(JSON.stringify(res).includes(acme.customer.customerId), false);
    }
    const theirs = await gql<{ triggers: unknown[]; deliveries: unknown[] }>(t.baseUrl, '{ triggers { id } deliveries { id } }', {}, them);
    assert.deepEqual(theirs.data, { triggers: [], deliveries: [] });
    const byTask = await gql<{ deliveries: unknown[] }>(t.baseUrl, 'query($t: ID!) { deliveries(taskId: $t) { id } }', { t: delivery.taskId }, them);
    assert.deepEqual(byTask.data?.deliveries, []);

    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { description: 'x' }],
      ['PUT', { description: 'x' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await request<{ detail: string }>(t.baseUrl, method, `/automation/triggers/${id}/`, { token: them, body });
      assert.equal(res.status, 404, method);
      assert.match(res.body.detail, /Trigger not found/);
    }
    const post = await request(t.baseUrl, 'POST', '/automation/triggers/', {
      token: them,
      body: { description: 'x', type: 'signal', signal: 'trip_export_finished', device: acme.device.id },
    });
    assert.equal(post.status, 404);
    assert.deepEqual((await request(t.baseUrl, 'GET', '/automation/triggers/', { token: them })).body, []);

    const still = await gql(t.baseUrl, TriggerDocument, { id }, acme.customer.apiToken);
    assert.equal(still.data?.trigger.description, 'export finished', 'nothing was changed by the attempts');
  });
});
