import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { drive, upload } from '../factories/records.js';
import { request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Content = Record<string, { schema: object }>;
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Content }; responses: Record<string, { content?: Content }> }>>;
}

interface TriggerAnswer {
  id: string;
  description: string;
  enabled: boolean;
  webhook_secret?: string;
}

describe('OpenAPI document at /openapi.json', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let doc: OpenApiDoc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);

  /** Checks an actual answer against the schema the document gives for it. */
  const conforms = (path: string, method: string, status: number, body: unknown): void => {
    const response = doc.paths[path]?.[method]?.responses[String(status)];
    assert.ok(response, `${method.toUpperCase()} ${path} documents ${status}`);
    const schema = response.content?.['application/json']?.schema;
    if (!schema) return;
    const validate = ajv.compile(schema);
    assert.ok(validate(body), `${method.toUpperCase()} ${path} ${status}: ${ajv.errorsText(validate.errors)}`);
  };

  /** Whether a request body fits the documented request schema (no coercion, nothing removed). */
  const fitsRequest = (path: string, method: string, body: unknown): boolean => {
    const schema = doc.paths[path]?.[method]?.requestBody?.content['application/json']?.schema;
    assert.ok(schema, `${method.toUpperCase()} ${path} documents its body`);
    return ajv.validate(schema, body);
  };

  before(async () => {
    t = await startTestApp();
    acme = await createCustomer(t.db.orm, t.config);
    doc = (await request<OpenApiDoc>(t.baseUrl, 'GET', '/openapi.json')).body;
  });
  after(() => t.close());

  it('is an OpenAPI 3 document listing every REST route', () => {
    assert.match(doc.openapi, /^3\./);
    const expected: [string, string][] = [
      ['/auth/login/', 'post'],
      ['/auth/api_tokens/', 'get'],
      ['/auth/api_tokens/', 'post'],
      ['/auth/api_tokens/{id}/', 'delete'],
      ['/logbook/storage/', 'post'],
      ['/logbook/trips/', 'get'],
      ['/healthz', 'get'],
      ['/readyz', 'get'],
      ['/metrics', 'get'],
      ['/automation/triggers/', 'get'],
      ['/automation/triggers/', 'post'],
      ['/automation/triggers/{id}/', 'get'],
      ['/automation/triggers/{id}/', 'patch'],
      ['/automation/triggers/{id}/', 'put'],
      ['/automation/triggers/{id}/', 'delete'],
    ];
    for (const [path, method] of expected) assert.ok(doc.paths[path]?.[method], `${method} ${path} is documented`);
  });

  it('describes the answers the routes actually give', async () => {
    const login = await request(t.baseUrl, 'POST', '/auth/login/', { body: { email: acme.email, password: acme.password } });
    conforms('/auth/login/', 'post', login.status, login.body);
    const badLogin = await request(t.baseUrl, 'POST', '/auth/login/', { body: { email: acme.email } });
    assert.equal(badLogin.status, 400);
    conforms('/auth/login/', 'post', 401, { detail: 'shape check' });

    const created = await request(t.baseUrl, 'POST', '/auth/api_tokens/', { token: acme.apiToken, body: { name: 'doc' } });
    conforms('/auth/api_tokens/', 'post', created.status, created.body);
    const listed = await request(t.baseUrl, 'GET', '/auth/api_tokens/', { token: acme.apiToken });
    conforms('/auth/api_tokens/', 'get', listed.status, listed.body);
    const denied = await request(t.baseUrl, 'GET', '/auth/api_tokens/');
    conforms('/auth/api_tokens/', 'get', denied.status, denied.body);

    const device = await createDevice(t.db.orm, acme);
    const stored = await upload(t.baseUrl, device, drive('2026-07-01T10:00:00Z', 20, 5));
    conforms('/logbook/storage/', 'post', stored.status, stored.body);
    const rejected = await upload(t.baseUrl, device, [{ '@t': 'x' }]);
    conforms('/logbook/storage/', 'post', rejected.status, rejected.body);

    const trips = await request(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: acme.apiToken });
    assert.equal(trips.status, 200);
    conforms('/logbook/trips/', 'get', trips.status, trips.body);
    const missing = await request(t.baseUrl, 'GET', '/logbook/trips/?device=00000000-0000-4000-8000-000000000000', { token: acme.apiToken });
    conforms('/logbook/trips/', 'get', missing.status, missing.body);
  });

  it('documents the trigger routes with the answers and bodies they take', async () => {
    const auth = { token: acme.apiToken };
    const list = '/automation/triggers/';
    const one = '/automation/triggers/{id}/';
    // Disabled: nothing in this file should ever send to example.test.
    const body = {
      description: 'doc',
      enabled: false,
      type: 'signal',
      signal: 'trip_export_finished',
      min_interval_seconds: 60,
      actions: { email: { recipients: ['doc@example.test'] }, webhook: { url: 'https://example.test/hook', headers: { 'X-A': '1' }, body_template: null } },
    };
    assert.ok(fitsRequest(list, 'post', body), 'the documented body is one the route takes');
    const created = await request<TriggerAnswer>(t.baseUrl, 'POST', list, { ...auth, body });
    assert.equal(created.status, 201);
    assert.match(created.body.webhook_secret ?? '', /^whsec_/);
    conforms(list, 'post', created.status, created.body);
    const path = `${list}${created.body.id}/`;

    const listed = await request<TriggerAnswer[]>(t.baseUrl, 'GET', list, auth);
    assert.deepEqual(
      listed.body.map((x) => x.id),
      [created.body.id],
    );
    conforms(list, 'get', listed.status, listed.body);
    const got = await request<TriggerAnswer>(t.baseUrl, 'GET', path, auth);
    assert.equal(got.status, 200);
    conforms(one, 'get', got.status, got.body);

    const patch = { description: 'patched', actions: { email: null } };
    assert.ok(fitsRequest(one, 'patch', patch));
    const patched = await request<TriggerAnswer>(t.baseUrl, 'PATCH', path, { ...auth, body: patch });
    assert.deepEqual([patched.status, patched.body.description, patched.body.enabled], [200, 'patched', false]);
    conforms(one, 'patch', patched.status, patched.body);
    // Legacy scripts PUT back what they read: the answer's extra fields are documented as ignored.
    assert.ok(fitsRequest(one, 'put', got.body));
    const put = await request<TriggerAnswer>(t.baseUrl, 'PUT', path, { ...auth, body: got.body });
    assert.deepEqual([put.status, put.body.description], [200, 'doc']);
    conforms(one, 'put', put.status, put.body);

    // The route words its own 400s and coerces nothing; the document rejects the same bodies.
    for (const [bad, detail] of [
      [{ ...body, enabled: 'true' }, /enabled must be true or false/],
      [{ ...body, min_interval_seconds: '60' }, /min_interval_seconds must be a number/],
      [{ ...body, type: 'nope' }, /type must be "signal" or "event"/],
      [{ ...body, actions: { webhook: { url: 'https://example.test/', headers: { a: 1 } } } }, /headers must be/],
      [[1, 2], /JSON object/],
    ] as const) {
      assert.equal(fitsRequest(list, 'post', bad), false, JSON.stringify(bad));
      const res = await request<{ detail: string }>(t.baseUrl, 'POST', list, { ...auth, body: bad });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.match(res.body.detail, detail);
      conforms(list, 'post', res.status, res.body);
    }
    // A rule of the service, not of the shape: the serializer keeps the extra `problems`.
    const rule = await request<{ detail: string; problems?: string[] }>(t.baseUrl, 'POST', list, { ...auth, body: { ...body, signal: 'trip_started' } });
    assert.equal(rule.status, 400);
    assert.equal(rule.body.problems?.length, 1);
    conforms(list, 'post', rule.status, rule.body);
    const badPatch = await request(t.baseUrl, 'PATCH', path, { ...auth, body: { description: 5 } });
    assert.equal(badPatch.status, 400);
    conforms(one, 'patch', badPatch.status, badPatch.body);
    const anonymous = await request(t.baseUrl, 'GET', list);
    conforms(list, 'get', anonymous.status, anonymous.body);

    const deleted = await request(t.baseUrl, 'DELETE', path, auth);
    assert.equal(deleted.status, 204);
    conforms(one, 'delete', deleted.status, deleted.body);
    for (const method of ['get', 'patch', 'put', 'delete'] as const) {
      const gone = await request(t.baseUrl, method.toUpperCase(), path, { ...auth, body: method === 'patch' || method === 'put' ? { description: 'x' } : undefined });
      assert.equal(gone.status, 404, method);
      conforms(one, method, gone.status, gone.body);
    }
  });
});
