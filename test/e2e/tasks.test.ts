import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

import { signDownloadUrl } from '../../src/notify/download-link.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { createTrip, endTrip, insertRecords, makeRecords, type StoredRecord, type TestTrip } from '../factories/trips.js';
import { ClearTaskResultDocument, ExportTripDocument, TaskDocument, TasksDocument } from '../generated/graphql.js';
import { downloadResult, waitForTask } from '../support/exports.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

interface TaskJson {
  id: number;
  created_at: string;
  task: string;
  args: unknown[];
  kwargs: { trip_id: string };
  state: string;
  runs?: number;
  error: string | null;
  result: { bytes: number; sha256: string; records: number; first_ts: string; last_ts: string; download_url: string } | null;
}

describe('tasks API: legacy REST routes and GraphQL', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;
  let van: TestDevice;
  let trip: TestTrip;
  let records: StoredRecord[];
  let taskId: number;

  /** A completed trip of `device` with `count` records, not exported automatically. */
  async function completedTrip(device: TestDevice, start: string, count: number): Promise<{ trip: TestTrip; records: StoredRecord[] }> {
    const created = await createTrip(t.db.orm, acme, device, start);
    const stored = makeRecords(device, start, count);
    await insertRecords(t.db.pool, device, stored);
    await endTrip(t.app.services, created, stored.at(-1)!.ts);
    return { trip: created, records: stored };
  }

  before(async () => {
    // Long enough that the daily retention job can never touch these 2026 records.
    t = await startTestApp({ RETENTION_DAYS: '3650' });
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
    van = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    ({ trip, records } = await completedTrip(van, '2026-04-01T08:00:00.000000Z', 50));
    taskId = Number((await waitForTask(t.db.pool, trip.id, 'SUCCESS')).id);
  });
  after(() => t.close());

  it('follows the spec literally: list tasks, download tasks/ID/result/, every record in order', async () => {
    const list = await request<TaskJson[]>(t.baseUrl, 'GET', '/tasks/', { token: acme.apiToken });
    assert.equal(list.status, 200);
    const task = list.body.find((x) => x.kwargs.trip_id === trip.id);
    assert.ok(task);
    assert.equal(task.id, taskId);
    assert.equal(task.task, 'core.tasks.es_trip_export');
    assert.deepEqual(task.args, []);
    assert.equal(task.state, 'SUCCESS');
    assert.match(task.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(task.result?.records, records.length);
    assert.equal(task.result?.first_ts, records[0]!.ts);
    assert.equal(task.result?.last_ts, records.at(-1)!.ts);
    assert.equal(task.result?.download_url, `${t.config.publicUrl}/tasks/${taskId}/result/`);

    const { response, lines } = await downloadResult(t.baseUrl, taskId, acme.apiToken);
    assert.equal(response.headers.get('content-type'), 'application/gzip');
    assert.equal(response.headers.get('content-disposition'), `attachment; filename="${trip.id}.json.gz"`);
    assert.equal(response.headers.get('content-length'), String(task.result?.bytes));
    assert.equal(response.headers.get('etag'), `"${task.result?.sha256}"`);
    assert.equal((JSON.parse(lines[0]!) as { id: string }).id, trip.id);
    assert.deepEqual(
      lines.slice(1),
      records.map((r) => r.line),
    );

    const one = await request<TaskJson>(t.baseUrl, 'GET', `/tasks/${taskId}/`, { token: acme.apiToken });
    assert.deepEqual(one.body, task);
  });

  it('answers If-None-Match with 304 and byte ranges with 206; result_trip_export/ is the same file', async () => {
    const auth = { authorization: `APIToken ${acme.apiToken}` };
    const full = await fetch(`${t.baseUrl}/tasks/${taskId}/result_trip_export/`, { headers: auth });
    const bytes = Buffer.from(await full.arrayBuffer());
    const etag = full.headers.get('etag')!;
    assert.equal(full.status, 200);

    const notModified = await fetch(`${t.baseUrl}/tasks/${taskId}/result/`, { headers: { ...auth, 'if-none-match': etag } });
    assert.equal(notModified.status, 304);
    assert.equal((await notModified.arrayBuffer()).byteLength, 0);

    const part = await fetch(`${t.baseUrl}/tasks/${taskId}/result/`, { headers: { ...auth, range: 'bytes=10-99' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-99/${bytes.length}`);
    assert.equal(part.headers.get('content-length'), '90');
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(10, 100));

    const tail = await fetch(`${t.baseUrl}/tasks/${taskId}/result/`, { headers: { ...auth, range: 'bytes=-20' } });
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), bytes.subarray(bytes.length - 20));

    const stale = await fetch(`${t.baseUrl}/tasks/${taskId}/result/`, { headers: { ...auth, range: 'bytes=0-9', 'if-range': '"other"' } });
    assert.equal(stale.status, 200, 'If-Range with another ETag gets the whole file');
    await stale.arrayBuffer();

    const beyond = await fetch(`${t.baseUrl}/tasks/${taskId}/result/`, { headers: { ...auth, range: `bytes=${bytes.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${bytes.length}`);
  });

  it("downloads with an announcement's signed download_url and no other credentials, until it expires", async () => {
    // PUBLIC_URL names port 0 in tests: send the link's path and query to the real port.
    const local = (link: string): string => `${t.baseUrl}${new URL(link).pathname}${new URL(link).search}`;
    const link = local(signDownloadUrl(t.config, taskId, acme.customerId));
    const res = await fetch(link);
    assert.equal(res.status, 200);
    const { gzip } = await downloadResult(t.baseUrl, taskId, acme.apiToken);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), gzip);

    const url = new URL(link);
    const forged = new URL(link);
    forged.searchParams.set('signature', Buffer.alloc(32).toString('base64url'));
    const expired = local(signDownloadUrl(t.config, taskId, acme.customerId, Date.now() - (t.config.downloadUrlTtlSeconds + 5) * 1000));
    const otherTask = `${t.baseUrl}/tasks/${taskId + 1000}/result/${url.search}`;
    const otherCustomer = local(signDownloadUrl(t.config, taskId, globex.customerId));
    for (const bad of [forged.toString(), expired, otherTask, otherCustomer]) {
      const denied = await fetch(bad);
      assert.equal(denied.status, 401, bad);
      assert.match(((await denied.json()) as { detail: string }).detail, /invalid or has expired/);
    }
  });

  it('filters by state and pages with limit and offset, newest first', async () => {
    const second = await completedTrip(van, '2026-04-02T08:00:00.000000Z', 3);
    await waitForTask(t.db.pool, second.trip.id, 'SUCCESS');
    const all = await request<TaskJson[]>(t.baseUrl, 'GET', '/tasks/', { token: acme.apiToken });
    assert.deepEqual(
      all.body.map((x) => x.id),
      [...all.body.map((x) => x.id)].sort((a, b) => b - a),
    );
    const page = await request<TaskJson[]>(t.baseUrl, 'GET', '/tasks/?limit=1&offset=1', { token: acme.apiToken });
    assert.deepEqual(
      page.body.map((x) => x.id),
      [all.body[1]!.id],
    );
    const failed = await request<TaskJson[]>(t.baseUrl, 'GET', '/tasks/?state=FAILURE', { token: acme.apiToken });
    assert.deepEqual(
      failed.body.filter((x) => x.state !== 'FAILURE'),
      [],
    );
    const bad = await request<{ detail: string }>(t.baseUrl, 'GET', '/tasks/?state=DONE', { token: acme.apiToken });
    assert.equal(bad.status, 400);
    assert.match(bad.body.detail, /state must be one of/);
    assert.equal((await request(t.baseUrl, 'GET', '/tasks/?limit=-1', { token: acme.apiToken })).status, 400);
    assert.equal((await request(t.baseUrl, 'GET', '/tasks/')).status, 401);
  });

  it('POST tasks/ exports a trip now and answers its task; 400 for an unknown task or a trip in progress', async () => {
    const manual = await createDevice(t.db.orm, acme, { autoExport: false });
    const { trip: old, records: oldRecords } = await completedTrip(manual, '2026-04-03T08:00:00.000000Z', 7);
    const body = { task: 'core.tasks.es_trip_export', args: [], kwargs: { trip_id: old.id } };
    const created = await request<TaskJson>(t.baseUrl, 'POST', '/tasks/', { token: acme.apiToken, body });
    assert.equal(created.status, 201);
    assert.equal(created.body.kwargs.trip_id, old.id);
    assert.ok(['PENDING', 'STARTED', 'SUCCESS'].includes(created.body.state));
    const done = await waitForTask(t.db.pool, old.id, 'SUCCESS');
    assert.deepEqual(
      (await downloadResult(t.baseUrl, done.id, acme.apiToken)).lines.slice(1),
      oldRecords.map((r) => r.line),
    );

    const again = await request<TaskJson>(t.baseUrl, 'POST', '/tasks/', { token: acme.apiToken, body });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, created.body.id, 'one task per trip');
    await waitForTask(t.db.pool, old.id, 'SUCCESS', 2);

    const unknown = await request<{ detail: string }>(t.baseUrl, 'POST', '/tasks/', { token: acme.apiToken, body: { ...body, task: 'core.tasks.nope' } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.detail, /Unknown task/);
    const missing = await request(t.baseUrl, 'POST', '/tasks/', { token: acme.apiToken, body: { task: body.task, kwargs: {} } });
    assert.equal(missing.status, 400);
    const open = await createTrip(t.db.orm, acme, manual, '2026-04-04T08:00:00.000000Z');
    const inProgress = await request<{ detail: string }>(t.baseUrl, 'POST', '/tasks/', { token: acme.apiToken, body: { ...body, kwargs: { trip_id: open.id } } });
    assert.equal(inProgress.status, 400);
    assert.match(inProgress.body.detail, /in progress/);
  });

  it('clear_result and remove_result (GET or POST) delete the file; the download then answers 404 with the reason', async () => {
    const clears: [string, string][] = [
      ['GET', 'clear_result'],
      ['POST', 'clear_result'],
      ['GET', 'remove_result'],
      ['POST', 'remove_result'],
    ];
    for (const [index, [method, route]] of clears.entries()) {
      const { trip: cleared } = await completedTrip(van, `2026-04-1${index}T08:00:00.000000Z`, 2);
      const done = await waitForTask(t.db.pool, cleared.id, 'SUCCESS');
      const file = path.join(t.config.exportDir, done.result_path!);
      assert.ok(existsSync(file));
      const res = await request<TaskJson & { result_cleared_at: string }>(t.baseUrl, method, `/tasks/${done.id}/${route}/`, { token: acme.apiToken });
      assert.equal(res.status, 200, `${method} ${route}`);
      assert.equal(res.body.result, null);
      assert.ok(res.body.result_cleared_at);
      assert.equal(existsSync(file), false, 'the file is deleted');
      const gone = await request<{ detail: string }>(t.baseUrl, 'GET', `/tasks/${done.id}/result/`, { token: acme.apiToken });
      assert.equal(gone.status, 404);
      assert.match(gone.body.detail, /cleared/);
    }
  });

  it('a manual export of a trip whose records are gone ends FAILURE with the reason, not an empty file', async () => {
    const emptyDevice = await createDevice(t.db.orm, acme);
    const empty = await createTrip(t.db.orm, acme, emptyDevice, '2026-01-05T08:00:00.000000Z');
    await endTrip(t.app.services, empty, '2026-01-05T09:00:00.000000Z');
    const body = { task: 'core.tasks.es_trip_export', args: [], kwargs: { trip_id: empty.id } };
    assert.equal((await request(t.baseUrl, 'POST', '/tasks/', { token: acme.apiToken, body })).status, 201);
    const failed = await waitForTask(t.db.pool, empty.id, 'FAILURE');
    assert.equal(failed.runs, 1, 'no retries: they cannot bring the data back');
    assert.match(failed.error ?? '', /no recorded data left.*retention policy/);
    const res = await request<{ detail: string }>(t.baseUrl, 'GET', `/tasks/${failed.id}/result/`, { token: acme.apiToken });
    assert.equal(res.status, 404);
    assert.match(res.body.detail, /export failed/);
  });

  it('serves tasks over GraphQL: connection with cursors, task(id) with its trip, exportTrip, clearTaskResult', async () => {
    const first = await gql(t.baseUrl, TasksDocument, { first: 1 }, acme.apiToken);
    assert.equal(first.errors, undefined);
    const total = first.data!.tasks.totalCount;
    assert.ok(total >= 2);
    assert.equal(first.data!.tasks.pageInfo.hasNextPage, true);
    const rest = await gql(t.baseUrl, TasksDocument, { first: 100, after: first.data!.tasks.pageInfo.endCursor }, acme.apiToken);
    const ids = [first.data!.tasks.edges[0]!.node.id, ...rest.data!.tasks.edges.map((e) => e.node.id)];
    assert.equal(ids.length, total);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => Number(b) - Number(a)),
    );

    const one = await gql(t.baseUrl, TaskDocument, { id: String(taskId) }, acme.apiToken);
    assert.equal(one.errors, undefined);
    const task = one.data!.task;
    assert.equal(task.task, 'core.tasks.es_trip_export');
    assert.deepEqual(task.kwargs, { tripId: trip.id });
    assert.equal(task.trip.id, trip.id);
    assert.equal(task.trip.task?.id, String(taskId));
    assert.equal(task.result?.downloadPath, `/tasks/${taskId}/result/`);
    assert.equal(task.result?.records, records.length);

    const exported = await gql(t.baseUrl, ExportTripDocument, { tripId: trip.id }, acme.apiToken);
    assert.equal(exported.data?.exportTrip.id, String(taskId));
    const rerun = await waitForTask(t.db.pool, trip.id, 'SUCCESS', 2);
    const cleared = await gql(t.baseUrl, ClearTaskResultDocument, { taskId: rerun.id }, acme.apiToken);
    assert.equal(cleared.data?.clearTaskResult.result, null);
    assert.ok(cleared.data?.clearTaskResult.resultClearedAt);
    assert.equal((await downloadResult(t.baseUrl, taskId, acme.apiToken)).response.status, 404);
  });

  it('documents every tasks route in /openapi.json, with the shapes the routes answer', async () => {
    type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };
    const doc = (await request<Doc>(t.baseUrl, 'GET', '/openapi.json')).body;
    for (const [route, methods] of Object.entries({
      '/tasks/': ['get', 'post'],
      '/tasks/{id}/': ['get'],
      '/tasks/{id}/result/': ['get'],
      '/tasks/{id}/result_trip_export/': ['get'],
      '/tasks/{id}/clear_result/': ['get', 'post'],
      '/tasks/{id}/remove_result/': ['get', 'post'],
    })) {
      for (const method of methods) assert.ok(doc.paths[route]?.[method], `${method} ${route}`);
    }
    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(doc.paths['/tasks/']!.get!.responses['200']!.content!['application/json']!.schema);
    const list = await request(t.baseUrl, 'GET', '/tasks/', { token: acme.apiToken });
    assert.ok(validate(list.body), ajv.errorsText(validate.errors));
  });

  it("answers 404 / NOT_FOUND for another customer's task or trip, on every route and field", async () => {
    const token = globex.apiToken;
    for (const [method, route] of [
      ['GET', `/tasks/${taskId}/`],
      ['GET', `/tasks/${taskId}/result/`],
      ['GET', `/tasks/${taskId}/result_trip_export/`],
      ['GET', `/tasks/${taskId}/clear_result/`],
      ['POST', `/tasks/${taskId}/clear_result/`],
      ['GET', `/tasks/${taskId}/remove_result/`],
      ['POST', `/tasks/${taskId}/remove_result/`],
      ['GET', '/tasks/not-a-number/'],
    ] as const) {
      const res = await request<{ detail: string }>(t.baseUrl, method, route, { token });
      assert.equal(res.status, 404, `${method} ${route}`);
      assert.ok(res.body.detail);
    }
    const post = await request(t.baseUrl, 'POST', '/tasks/', { token, body: { task: 'core.tasks.es_trip_export', args: [], kwargs: { trip_id: trip.id } } });
    assert.equal(post.status, 404);
    assert.deepEqual((await request<TaskJson[]>(t.baseUrl, 'GET', '/tasks/', { token })).body, []);

    const denied = [
      await gql(t.baseUrl, TaskDocument, { id: String(taskId) }, token),
      await gql(t.baseUrl, ExportTripDocument, { tripId: trip.id }, token),
      await gql(t.baseUrl, ClearTaskResultDocument, { taskId: String(taskId) }, token),
    ];
    assert.deepEqual(
      denied.map((res) => res.errors?.[0]?.extensions?.code),
      ['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND'],
    );
    const theirs = await gql(t.baseUrl, TasksDocument, {}, token);
    assert.equal(theirs.data?.tasks.totalCount, 0);
    // The owner still has the result: nothing above touched it.
    assert.equal((await request<TaskJson>(t.baseUrl, 'GET', `/tasks/${taskId}/`, { token: acme.apiToken })).body.kwargs.trip_id, trip.id);
  });
});
