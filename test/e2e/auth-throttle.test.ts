import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { pingRedis } from '../../src/lib/redis.js';
import { createCustomer, type TestCustomer } from '../factories/accounts.js';
import { type JsonResponse, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';

type Detail = { detail: string };

/** A login as a client at `address` would send it through the trusted proxy in front. */
const login = (t: TestApp, email: string, password: string, address?: string): Promise<JsonResponse<Detail & { token?: string }>> =>
  request(t.baseUrl, 'POST', '/auth/login/', { body: { email, password }, headers: address ? { 'x-forwarded-for': address } : {} });

function assertThrottled(res: JsonResponse<Detail>, what: RegExp): void {
  assert.equal(res.status, 429);
  assert.match(res.body.detail, what);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 900, `Retry-After: ${res.headers.get('retry-after')}`);
}

describe('throttling of logins and credentials', () => {
  // Behind a proxy on loopback that names each client in X-Forwarded-For.
  let proxied: TestApp;
  // Reached directly: the TCP peer is the address, whatever X-Forwarded-For claims.
  let direct: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;

  before(async () => {
    [proxied, direct] = await Promise.all([startTestApp({ TRUST_PROXY: '127.0.0.1', AUTH_FAILURE_LIMIT_PER_ADDRESS: '5' }), startTestApp({ TOKEN_LIMIT_PER_MINUTE: '20' })]);
    acme = await createCustomer(proxied.db.orm, proxied.config, 'Acme');
    globex = await createCustomer(proxied.db.orm, proxied.config, 'Globex');
  });
  after(async () => {
    await proxied.close();
    await direct.close();
  });

  it('250 wrong passwords: 429 with Retry-After from the 11th on, the right one too; another account elsewhere is unaffected', async () => {
    const statuses: number[] = [];
    let first429: JsonResponse<Detail> | undefined;
    for (let i = 0; i < 250; i++) {
      const res = await login(proxied, acme.email, `wrong-${i}`, '198.51.100.7');
      statuses.push(res.status);
      first429 ??= res.status === 429 ? res : undefined;
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.deepEqual(statuses.slice(10), Array(240).fill(429));
    assertThrottled(first429!, /too many login attempts for this account/i);

    assertThrottled(await login(proxied, acme.email, acme.password, '198.51.100.7'), /too many/i);
    assertThrottled(await login(proxied, acme.email, acme.password, '203.0.113.9'), /for this account/i);
    const other = await login(proxied, globex.email, globex.password, '203.0.113.9');
    assert.equal(other.status, 200);
    assert.ok(other.body.token);
    // The guessing address has used up its own allowance too, whatever account it tries next.
    assertThrottled(await login(proxied, globex.email, globex.password, '198.51.100.7'), /from your address/i);
  });

  it('counts login attempts per address across accounts', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await login(proxied, `nobody-${i}@example.test`, 'x', '192.0.2.44')).status, 401);
    assertThrottled(await login(proxied, globex.email, globex.password, '192.0.2.44'), /from your address/i);
    assert.equal((await login(proxied, globex.email, globex.password, '192.0.2.45')).status, 200);
  });

  it('without TRUST_PROXY a forged X-Forwarded-For does not make a new address', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await login(direct, `nobody-${i}@example.test`, 'x', `10.0.${i}.1`)).status, 401);
    assertThrottled(await login(direct, `someone@example.test`, 'x', '10.9.9.9'), /from your address/i);
  });

  it('refused credentials count against the address: then even a good token from there waits, elsewhere it works', async () => {
    const from = (address: string) => ({ 'x-forwarded-for': address });
    for (let i = 0; i < 3; i++) {
      const res = await request(proxied.baseUrl, 'GET', '/tasks/', { auth: `APIToken tex_guess${i}`, headers: from('198.51.100.80') });
      assert.equal(res.status, 401);
    }
    for (let i = 0; i < 2; i++) {
      const res = await request<{ errors?: unknown }>(proxied.baseUrl, 'POST', '/graphql', {
        auth: `APIToken tex_guess-gql${i}`,
        headers: from('198.51.100.80'),
        body: { query: '{ me { email } }' },
      });
      assert.equal(res.status, 200);
      assert.match(JSON.stringify(res.body.errors), /UNAUTHENTICATED/);
    }
    assertThrottled(await request(proxied.baseUrl, 'GET', '/tasks/', { token: globex.apiToken, headers: from('198.51.100.80') }), /refused credentials from your address/i);
    assert.equal((await request(proxied.baseUrl, 'GET', '/tasks/', { token: globex.apiToken, headers: from('198.51.100.81') })).status, 200);
  });

  it('limits requests per credential, not per customer: another token keeps working', async () => {
    const customer = await createCustomer(direct.db.orm, direct.config, 'Initech');
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await request(direct.baseUrl, 'GET', '/tasks/', { token: customer.apiToken })).status);
    assert.deepEqual(statuses, [...Array<number>(20).fill(200), ...Array<number>(5).fill(429)]);
    assertThrottled(await request(direct.baseUrl, 'GET', '/tasks/', { token: customer.apiToken }), /more than 20 requests a minute with this credential/i);
    const second = await direct.app.services.auth.createApiToken(direct.db.orm.em.fork(), customer.principal, 'second', null);
    assert.equal((await request(direct.baseUrl, 'GET', '/tasks/', { token: second.token })).status, 200);
  });
});

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const NO_REDIS = (await pingRedis(REDIS_URL).then(
  () => true,
  () => false,
))
  ? false
  : `Redis is not reachable at ${REDIS_URL} (set REDIS_URL)`;

describe('throttling with REDIS_URL: every instance counts in one place', { skip: NO_REDIS }, () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;

  before(async () => {
    db = await createTestDatabase();
    [a, b] = await Promise.all([startTestApp({ REDIS_URL }, { db }), startTestApp({ REDIS_URL }, { db })]);
  });
  after(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  it('wrong passwords sent to two instances add up to one limit', async () => {
    const acme = await createCustomer(db.orm, a.config, 'Acme');
    for (let i = 0; i < 10; i++) assert.equal((await login(i % 2 ? a : b, acme.email, `wrong-${i}`)).status, 401);
    assertThrottled(await login(a, acme.email, acme.password), /for this account/i);
    assertThrottled(await login(b, acme.email, acme.password), /for this account/i);
  });
});
