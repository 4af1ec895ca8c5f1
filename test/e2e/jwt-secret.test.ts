import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { SignJWT } from 'jose';

import { signDownloadUrl } from '../../src/notify/download-link.js';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { createTrip, endTrip, insertRecords, makeRecords } from '../factories/trips.js';
import { waitForTask } from '../support/exports.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';
import { startWebhookReceiver, verifyWithStandardWebhooks, type WebhookReceiver } from '../support/webhook-receiver.js';

/** The fallback secret of earlier versions, as published in src/config/config.ts. */
const PUBLISHED_SECRET = 'dev-only-secret-change-me-please-0123456789';

/** A login token as earlier versions signed it, made by anyone who read the source. */
const mintWith = (secret: string, customer: TestCustomer): Promise<string> =>
  new SignJWT({ cid: customer.customerId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(customer.userId)
    .setIssuer('trip-export')
    .setAudience('trip-export-api')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));

describe('JWT secret: without JWT_SECRET one is generated once and shared through the database', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let acme: TestCustomer;
  let receiver: WebhookReceiver;
  const exportDir = path.join(tmpdir(), `trip-export-jwt-${randomBytes(6).toString('hex')}`);

  before(async () => {
    db = await createTestDatabase();
    // Two instances starting at the same moment, neither with JWT_SECRET, sharing export storage.
    const env = { JWT_SECRET: '', EXPORT_DIR: exportDir };
    [a, b] = await Promise.all([startTestApp(env, { db }), startTestApp(env, { db })]);
    acme = await createCustomer(db.orm, a.config, 'Acme');
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver.close();
    await a.close();
    await b.close();
    await db.drop();
    await rm(exportDir, { recursive: true, force: true });
  });

  it('both instances sign with the one secret kept in the database, and it is no constant', async () => {
    const { rows } = await db.pool.query<{ value: string }>(`SELECT value FROM service_secrets WHERE name = 'jwt_secret'`);
    assert.equal(rows.length, 1);
    assert.equal(a.config.jwtSecret, rows[0]!.value);
    assert.equal(b.config.jwtSecret, rows[0]!.value);
    assert.notEqual(a.config.jwtSecret, PUBLISHED_SECRET);
    assert.ok(Buffer.byteLength(a.config.jwtSecret) >= 32);

    const login = await request<{ token: string }>(a.baseUrl, 'POST', '/auth/login/', { body: { email: acme.email, password: acme.password } });
    assert.equal(login.status, 200);
    const onB = await request(b.baseUrl, 'GET', '/tasks/', { auth: `Bearer ${login.body.token}` });
    assert.equal(onB.status, 200, 'a login on one instance is good on the other');

    const later = await startTestApp({ JWT_SECRET: '', EXPORT_DIR: exportDir }, { db });
    try {
      assert.equal(later.config.jwtSecret, rows[0]!.value, 'a restart keeps the secret');
    } finally {
      await later.close();
    }
  });

  it('refuses login tokens and download links signed with the published constant', async () => {
    const forged = await mintWith(PUBLISHED_SECRET, acme);
    for (const app of [a, b]) {
      const res = await request<{ detail: string }>(app.baseUrl, 'GET', '/tasks/', { auth: `Bearer ${forged}` });
      assert.equal(res.status, 401);
      const me = await gql(app.baseUrl, '{ me { email } }', {}, forged);
      assert.equal(me.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    }

    const van = await createDevice(db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    const trip = await createTrip(db.orm, acme, van, '2026-05-01T08:00:00.000000Z');
    const stored = makeRecords(van, '2026-05-01T08:00:00.000000Z', 5);
    await insertRecords(db.pool, van, stored);
    await endTrip(a.app.services, trip, stored.at(-1)!.ts);
    const taskId = Number((await waitForTask(db.pool, trip.id, 'SUCCESS')).id);
    const pathOf = (link: string): string => `${new URL(link).pathname}${new URL(link).search}`;
    const genuine = await fetch(`${b.baseUrl}${pathOf(signDownloadUrl(a.config, taskId, acme.customerId))}`);
    assert.equal(genuine.status, 200, 'a link one instance signed opens on the other');
    await genuine.arrayBuffer();
    const old = signDownloadUrl({ ...a.config, jwtSecret: PUBLISHED_SECRET }, taskId, acme.customerId);
    const denied = await fetch(`${a.baseUrl}${pathOf(old)}`);
    assert.equal(denied.status, 401);
    await denied.arrayBuffer();
  });

  it('seals webhook signing secrets with it: a trigger made on one instance signs from the other', async () => {
    const created = await gql<{ createTrigger: { trigger: { id: string }; webhookSecret: string } }>(
      a.baseUrl,
      'mutation($i: CreateTriggerInput!) { createTrigger(input: $i) { trigger { id } webhookSecret } }',
      { i: { description: 'hook', type: 'SIGNAL', signal: 'trip_export_finished', webhook: { url: receiver.url } } },
      acme.apiToken,
    );
    assert.equal(created.errors, undefined);
    const tested = await gql<{ testTrigger: { succeeded: boolean }[] }>(
      b.baseUrl,
      'mutation($id: ID!) { testTrigger(id: $id) { succeeded } }',
      { id: created.data!.createTrigger.trigger.id },
      acme.apiToken,
    );
    assert.deepEqual(tested.data?.testTrigger, [{ succeeded: true }]);
    assert.ok(verifyWithStandardWebhooks(created.data!.createTrigger.webhookSecret, receiver.received.at(-1)!));
  });

  it('answers a JWT of a deleted user with 401 / UNAUTHENTICATED, not an internal error', async () => {
    const gone = await createCustomer(db.orm, a.config, 'Gone');
    const login = await request<{ token: string }>(a.baseUrl, 'POST', '/auth/login/', { body: { email: gone.email, password: gone.password } });
    assert.equal(login.status, 200);
    await db.pool.query('DELETE FROM users WHERE id = $1', [gone.userId]);
    const me = await gql(a.baseUrl, '{ me { email } }', {}, login.body.token);
    assert.equal(me.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const rest = await request(a.baseUrl, 'GET', '/tasks/', { auth: `Bearer ${login.body.token}` });
    assert.equal(rest.status, 401);
  });
});
