import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { sha256Hex } from '../../src/lib/secrets.js';
import { createCustomer, type TestCustomer } from '../factories/accounts.js';
import { CreateApiTokenDocument, CreateDeviceDocument, MeDocument } from '../generated/graphql.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('accounts: login, API tokens, devices, templates', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;

  before(async () => {
    t = await startTestApp();
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
  });
  after(() => t.close());

  it('logs in with e-mail and password and answers me() with the JWT', async () => {
    const login = await request<{ token: string }>(t.baseUrl, 'POST', '/auth/login/', { body: { email: acme.email, password: acme.password } });
    assert.equal(login.status, 200);
    const res = await gql(t.baseUrl, MeDocument, {}, login.body.token);
    assert.equal(res.data?.me.email, acme.email);
    assert.equal(res.data?.me.authenticatedVia, 'jwt');
    assert.deepEqual(res.data?.me.customer, { id: acme.customerId, name: 'Acme' });
  });

  it('refuses a wrong password, a missing and a forged credential with 401 {detail}', async () => {
    const bad = await request<{ detail: string }>(t.baseUrl, 'POST', '/auth/login/', { body: { email: acme.email, password: 'nope' } });
    assert.equal(bad.status, 401);
    assert.match(bad.body.detail, /invalid e-mail or password/i);
    const none = await request<{ detail: string }>(t.baseUrl, 'GET', '/auth/api_tokens/');
    assert.equal(none.status, 401);
    assert.ok(none.body.detail);
    const forged = await request(t.baseUrl, 'GET', '/auth/api_tokens/', { auth: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x' });
    assert.equal(forged.status, 401);
    const res = await gql(t.baseUrl, '{ devices { id } }', {}, 'tex_not-a-real-token');
    assert.equal(res.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  it('creates an API token shown once, stores only its hash, lists and revokes it', async () => {
    const created = await request<{ id: string; token: string; prefix: string; name: string }>(t.baseUrl, 'POST', '/auth/api_tokens/', {
      token: acme.apiToken,
      body: { name: 'script', expires_at: '2099-01-01T00:00:00Z' },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.token, /^tex_/);
    assert.ok(created.body.token.startsWith(created.body.prefix));
    const { rows } = await t.db.pool.query<{ token_hash: string }>('SELECT token_hash FROM api_tokens WHERE id = $1', [created.body.id]);
    assert.equal(rows[0]?.token_hash, sha256Hex(created.body.token));
    const all = await t.db.pool.query<{ row: string }>('SELECT row_to_json(a)::text AS row FROM api_tokens a');
    assert.ok(
      all.rows.every((r) => !r.row.includes(created.body.token)),
      'the token itself is never stored',
    );

    const listed = await request<{ id: string; token?: string; last_used_at: string | null }[]>(t.baseUrl, 'GET', '/auth/api_tokens/', {
      token: created.body.token,
    });
    assert.equal(listed.status, 200);
    const mine = listed.body.find((x) => x.id === created.body.id);
    assert.ok(mine);
    assert.equal(mine.token, undefined);
    assert.ok(mine.last_used_at, 'last use is recorded');

    const revoked = await request(t.baseUrl, 'DELETE', `/auth/api_tokens/${created.body.id}/`, { token: acme.apiToken });
    assert.equal(revoked.status, 204);
    const after = await request(t.baseUrl, 'GET', '/auth/api_tokens/', { token: created.body.token });
    assert.equal(after.status, 401);
  });

  it('manages API tokens over GraphQL too', async () => {
    const created = await gql(t.baseUrl, CreateApiTokenDocument, { name: 'dashboard' }, acme.apiToken);
    const id = created.data!.createApiToken.apiToken.id;
    const listed = await gql<{ apiTokens: { id: string }[] }>(t.baseUrl, '{ apiTokens { id } }', {}, acme.apiToken);
    assert.ok(listed.data!.apiTokens.some((x) => x.id === id));
    const foreign = await gql(t.baseUrl, 'mutation($id: ID!) { revokeApiToken(id: $id) { id } }', { id }, globex.apiToken);
    assert.equal(foreign.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const revoked = await gql(t.baseUrl, 'mutation($id: ID!) { revokeApiToken(id: $id) { id } }', { id }, acme.apiToken);
    assert.equal(revoked.errors, undefined);
    const me = await gql(t.baseUrl, '{ me { email } }', {}, created.data!.createApiToken.token);
    assert.equal(me.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  it('registers a device, layers template and device settings, and hides it from other customers', async () => {
    const unitId = '6f1e4c2a-3b5d-4e7f-8a9b-0c1d2e3f4a5b';
    const created = await gql(t.baseUrl, CreateDeviceDocument, { input: { unitId, name: 'Truck 7', vehicleId: 77 } }, acme.apiToken);
    assert.equal(created.errors, undefined);
    const deviceId = created.data!.createDevice.device.id;
    assert.match(created.data!.createDevice.uploadToken, /^dev_/);

    const template = await gql<{ createTemplate: { id: string } }>(
      t.baseUrl,
      'mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id } }',
      { i: { name: 'fleet', settings: { autoExport: true, reopenLimitSeconds: 120 } } },
      acme.apiToken,
    );
    const templateId = template.data!.createTemplate.id;
    await gql(t.baseUrl, 'mutation($t: ID!, $d: [ID!]!) { applyTemplate(templateId: $t, deviceIds: $d) { devices { id } } }', { t: templateId, d: [deviceId] }, acme.apiToken);
    await gql(
      t.baseUrl,
      'mutation($d: ID!, $s: TripSettingsInput!) { updateDeviceSettings(deviceId: $d, settings: $s) { id } }',
      { d: deviceId, s: { reopenLimitSeconds: 30 } },
      acme.apiToken,
    );
    const device = await gql<{ device: { settings: { autoExport: boolean; reopenLimitSeconds: number; activeTripMaxAgeSeconds: number }; template: { name: string } } }>(
      t.baseUrl,
      'query($id: ID!) { device(id: $id) { settings { autoExport reopenLimitSeconds activeTripMaxAgeSeconds } template { name } } }',
      { id: deviceId },
      acme.apiToken,
    );
    assert.deepEqual(device.data?.device.settings, { autoExport: true, reopenLimitSeconds: 30, activeTripMaxAgeSeconds: 5400 });
    assert.equal(device.data?.device.template.name, 'fleet');

    for (const [query, variables] of [
      ['query($id: ID!) { device(id: $id) { id } }', { id: deviceId }],
      ['mutation($d: ID!, $s: TripSettingsInput!) { updateDeviceSettings(deviceId: $d, settings: $s) { id } }', { d: deviceId, s: { autoExport: false } }],
      ['mutation($t: ID!, $d: [ID!]!) { applyTemplate(templateId: $t, deviceIds: $d) { devices { id } } }', { t: templateId, d: [deviceId] }],
    ] as const) {
      const res = await gql(t.baseUrl, query, variables, globex.apiToken);
      assert.equal(res.errors?.[0]?.extensions?.code, 'NOT_FOUND', query);
    }
    const theirs = await gql<{ devices: unknown[]; templates: unknown[] }>(t.baseUrl, '{ devices { id } templates { id } }', {}, globex.apiToken);
    assert.deepEqual(theirs.data, { devices: [], templates: [] });
  });

  it('rejects bad settings with BAD_USER_INPUT and a duplicate unit id with CONFLICT', async () => {
    const created = await gql<{ createDevice: { device: { id: string } } }>(
      t.baseUrl,
      'mutation($i: CreateDeviceInput!) { createDevice(input: $i) { device { id } } }',
      { i: { unitId: '11111111-2222-4333-8444-555555555555', name: 'x', vehicleId: 1 } },
      acme.apiToken,
    );
    const bad = await gql(
      t.baseUrl,
      'mutation($d: ID!, $s: TripSettingsInput!) { updateDeviceSettings(deviceId: $d, settings: $s) { id } }',
      { d: created.data!.createDevice.device.id, s: { startTags: ['('] } },
      acme.apiToken,
    );
    assert.equal(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const dup = await gql(
      t.baseUrl,
      'mutation($i: CreateDeviceInput!) { createDevice(input: $i) { device { id } } }',
      { i: { unitId: '11111111-2222-4333-8444-555555555555', name: 'y', vehicleId: 2 } },
      globex.apiToken,
    );
    assert.equal(dup.errors?.[0]?.extensions?.code, 'CONFLICT');
  });

  it('enforces depth, cost and body size limits on GraphQL', async () => {
    const deep = await gql(t.baseUrl, `{ devices { template { id } ${'a: __typename '.repeat(1)} } me { customer { id } } }`, {}, acme.apiToken);
    assert.equal(deep.errors, undefined);
    const tooDeep = await startTestApp({ GRAPHQL_MAX_DEPTH: '2' }, { db: t.db });
    try {
      const res = await gql(tooDeep.baseUrl, '{ me { customer { id } } }', {}, acme.apiToken);
      assert.equal(res.errors?.[0]?.extensions?.code, 'QUERY_TOO_DEEP');
    } finally {
      await tooDeep.close();
    }
    const big = await request(t.baseUrl, 'POST', '/graphql', { body: { query: `{ me { email } }${' '.repeat(200 * 1024)}` } });
    assert.equal(big.status, 413);
  });
});
