import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { drive, upload } from '../factories/records.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { request } from '../support/http.js';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
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
});
