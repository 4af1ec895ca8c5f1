import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createCustomer, type TestCustomer } from '../factories/accounts.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { connectWs } from '../support/ws-client.js';

/** The sources a CSP directive allows, e.g. `script-src`. */
function directive(csp: string | null, name: string): string[] {
  const found = (csp ?? '')
    .split(';')
    .map((d) => d.trim().split(/\s+/))
    .find(([key]) => key === name);
  return found?.slice(1) ?? [];
}

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('security headers and the introspection switch', () => {
  let t: TestApp;
  let closed: TestApp;
  let acme: TestCustomer;

  before(async () => {
    [t, closed] = await Promise.all([startTestApp(), startTestApp({ GRAPHQL_INTROSPECTION: 'false' })]);
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
  });
  after(async () => {
    await t.close();
    await closed.close();
  });

  it("sends helmet's headers with JSON answers, errors included", async () => {
    for (const res of [
      await request(t.baseUrl, 'GET', '/tasks/', { token: acme.apiToken }),
      await request(t.baseUrl, 'GET', '/tasks/'),
      await request(t.baseUrl, 'GET', '/healthz'),
    ]) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
      assert.ok(res.headers.get('strict-transport-security'));
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      const csp = res.headers.get('content-security-policy');
      assert.deepEqual(directive(csp, 'default-src'), ["'self'"]);
      assert.deepEqual(directive(csp, 'frame-ancestors'), ["'self'"]);
      assert.doesNotMatch(csp ?? '', /upgrade-insecure-requests/, 'plain-HTTP deployments must keep working');
    }
  });

  it("lets Apollo's landing page load what it references", async () => {
    const res = await fetch(`${t.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const csp = res.headers.get('content-security-policy');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => new URL(m[1]!).origin);
    assert.ok(scripts.length > 0, 'the page loads a script from the CDN');
    for (const origin of scripts) assert.ok(directive(csp, 'script-src').includes(origin), `script-src allows ${origin}`);
    assert.ok(directive(csp, 'script-src').includes("'unsafe-inline'"), "the page's own nonce'd inline script runs");
    // The embedded Sandbox is an iframe of Apollo's sandbox site.
    assert.match(html, /EmbeddedSandbox/);
    assert.ok(directive(csp, 'frame-src').includes('https://sandbox.embed.apollographql.com'));
    assert.equal(res.headers.get('cross-origin-embedder-policy'), null);
  });

  it('answers introspection by default, on HTTP and on the WebSocket', async () => {
    const res = await gql<{ __schema: { queryType: { name: string } } }>(t.baseUrl, INTROSPECTION);
    assert.equal(res.data?.__schema.queryType.name, 'Query');
    const ws = connectWs(t.baseUrl, `APIToken ${acme.apiToken}`);
    try {
      const sub = ws.subscribe<{ __schema: { queryType: { name: string } } }>(INTROSPECTION);
      await waitFor(() => sub.events.length + sub.errors.length > 0, 'the introspection answer');
      assert.deepEqual(sub.events, [{ __schema: { queryType: { name: 'Query' } } }]);
    } finally {
      await ws.dispose();
    }
  });

  it('refuses introspection with GRAPHQL_INTROSPECTION=false, on HTTP and on the WebSocket, and still serves queries', async () => {
    const customer = await createCustomer(closed.db.orm, closed.config, 'Globex');
    const res = await request<{ errors?: { message: string; extensions?: { code?: string } }[] }>(closed.baseUrl, 'POST', '/graphql', { body: { query: INTROSPECTION } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.match(res.body.errors?.[0]?.message ?? '', /introspection/i);
    const me = await gql<{ me: { email: string } }>(closed.baseUrl, '{ me { email } }', {}, customer.apiToken);
    assert.equal(me.data?.me.email, customer.email);

    const ws = connectWs(closed.baseUrl, `APIToken ${customer.apiToken}`);
    try {
      const sub = ws.subscribe(INTROSPECTION);
      await waitFor(() => sub.events.length + sub.errors.length > 0, 'the refusal');
      assert.deepEqual(sub.events, []);
      assert.match(JSON.stringify(sub.errors), /introspection/i);
    } finally {
      await ws.dispose();
    }
  });
});
