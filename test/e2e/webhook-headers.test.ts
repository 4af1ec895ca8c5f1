import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { gql, request } from '../support/http.js';
import { createFleet, createTrigger, type Fleet, webhookTrigger } from '../support/notify-fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const API_KEY = 'rk_live_51HxYzAbCdEf0123456789';
type Headers = { name: string; value: string }[];
type TriggerJson = { actions: { webhook: { url: string; headers: Record<string, string>; body_template: string | null } | null } };

describe('webhook extra headers: stored sealed, shown masked, sent in clear', () => {
  let t: TestApp;
  let acme: Fleet;
  let receiver: WebhookReceiver;

  before(async () => {
    t = await startTestApp();
    acme = await createFleet(t.db.orm, t.config, 'Acme');
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver.close();
    await t.close();
  });

  const token = () => acme.customer.apiToken;
  /** What the receiver gets when the trigger is tested now. */
  async function sentHeaders(id: string, app: TestApp = t) {
    const before = receiver.received.length;
    const res = await gql<{ testTrigger: { succeeded: boolean }[] }>(app.baseUrl, 'mutation($id: ID!) { testTrigger(id: $id) { succeeded } }', { id }, token());
    assert.deepEqual(res.data?.testTrigger, [{ succeeded: true }]);
    assert.equal(receiver.received.length, before + 1);
    return receiver.received.at(-1)!.headers;
  }
  const storedRow = async (id: string): Promise<string> =>
    (await t.db.pool.query<{ row: string }>('SELECT row_to_json(t)::text AS row FROM triggers t WHERE id = $1', [id])).rows[0]!.row;

  it('keeps the API key out of the row and out of every answer, and sends it', async () => {
    const headers = [
      { name: 'X-Api-Key', value: API_KEY },
      { name: 'X-Fleet', value: 'north' },
    ];
    const { id } = await createTrigger(t.baseUrl, token(), webhookTrigger(receiver.url, { webhook: { url: receiver.url, headers } }));
    assert.ok(!(await storedRow(id)).includes(API_KEY), 'not stored in clear');

    const shown = await gql<{ trigger: { actions: { webhook: { headers: Headers } } } }>(
      t.baseUrl,
      'query($id: ID!) { trigger(id: $id) { actions { webhook { headers { name value } } } } }',
      { id },
      token(),
    );
    // jsonb keeps its own key order
    const byName = [...(shown.data?.trigger.actions.webhook.headers ?? [])].sort((x, y) => x.name.localeCompare(y.name));
    assert.deepEqual(byName, [
      { name: 'X-Api-Key', value: '****6789' },
      { name: 'X-Fleet', value: '****' },
    ]);
    const rest = await request<TriggerJson>(t.baseUrl, 'GET', `/automation/triggers/${id}/`, { token: token() });
    assert.deepEqual(rest.body.actions.webhook?.headers, { 'X-Api-Key': '****6789', 'X-Fleet': '****' });

    const sent = await sentHeaders(id);
    assert.equal(sent['x-api-key'], API_KEY);
    assert.equal(sent['x-fleet'], 'north');
  });

  it('a header sent back as shown keeps its value; a new value replaces it', async () => {
    const { id } = await createTrigger(t.baseUrl, token(), webhookTrigger(receiver.url, { webhook: { url: receiver.url, headers: [{ name: 'X-Api-Key', value: API_KEY }] } }));
    const got = await request<TriggerJson>(t.baseUrl, 'GET', `/automation/triggers/${id}/`, { token: token() });
    // A legacy script changes the description and PUTs back what it read.
    const put = await request<TriggerJson>(t.baseUrl, 'PUT', `/automation/triggers/${id}/`, { token: token(), body: { ...got.body, description: 'renamed' } });
    assert.equal(put.status, 200);
    assert.equal((await sentHeaders(id))['x-api-key'], API_KEY);

    const webhook = { url: receiver.url, headers: { 'X-Api-Key': '****6789', 'X-Region': 'eu-west-1' } };
    assert.equal((await request(t.baseUrl, 'PATCH', `/automation/triggers/${id}/`, { token: token(), body: { actions: { webhook } } })).status, 200);
    let sent = await sentHeaders(id);
    assert.equal(sent['x-api-key'], API_KEY);
    assert.equal(sent['x-region'], 'eu-west-1');

    const rotated = 'rk_live_new_key_9876543210';
    const update = await gql(
      t.baseUrl,
      'mutation($id: ID!, $i: UpdateTriggerInput!) { updateTrigger(id: $id, input: $i) { id } }',
      { id, i: { webhook: { url: receiver.url, headers: [{ name: 'X-Api-Key', value: rotated }] } } },
      token(),
    );
    assert.equal(update.errors, undefined);
    sent = await sentHeaders(id);
    assert.equal(sent['x-api-key'], rotated);
    assert.equal(sent['x-region'], undefined, 'headers left out are cleared');
  });

  it('seals rows an earlier version stored in clear, at start-up, and sends them all along', async () => {
    const { id } = await createTrigger(t.baseUrl, token(), webhookTrigger(receiver.url));
    // As an earlier version wrote it: the values in clear, nothing sealed.
    await t.db.pool.query(`UPDATE triggers SET webhook_headers = $2, webhook_headers_sealed = NULL WHERE id = $1`, [id, JSON.stringify({ 'X-Api-Key': API_KEY })]);
    assert.equal((await sentHeaders(id))['x-api-key'], API_KEY, 'read either way');

    const restarted = await startTestApp({}, { db: t.db });
    try {
      assert.ok(!(await storedRow(id)).includes(API_KEY), 'sealed at start-up');
      const rest = await request<TriggerJson>(restarted.baseUrl, 'GET', `/automation/triggers/${id}/`, { token: token() });
      assert.deepEqual(rest.body.actions.webhook?.headers, { 'X-Api-Key': '****6789' });
      assert.equal((await sentHeaders(id, restarted))['x-api-key'], API_KEY);
    } finally {
      await restarted.close();
    }
  });
});
