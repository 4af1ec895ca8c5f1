import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { request } from '../support/http.js';
import { runServiceToExit } from '../support/process.js';
import { startTestApp } from '../support/test-app.js';
import { createTestDatabase } from '../support/test-db.js';

type Readiness = { detail?: string; checks: Record<string, { ok: boolean; error?: string }> };

describe('the job store', () => {
  it('an unreachable MONGODB_URL stops start-up within 30 s with one line naming MongoDB', async () => {
    const db = await createTestDatabase();
    try {
      const run = await runServiceToExit({ DATABASE_URL: db.url, MONGODB_URL: 'mongodb://127.0.0.1:1/jobs' }, 60_000);
      assert.notEqual(run.code, 0, 'a non-zero exit');
      assert.notEqual(run.code, null, 'it exits by itself');
      assert.ok(run.ms < 30_000, `exited after ${run.ms} ms`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, /MongoDB \(MONGODB_URL\) is unreachable: .*ECONNREFUSED.*unset it/);
    } finally {
      await db.drop();
    }
  });

  it('/readyz names the PostgreSQL job store when it cannot be used, and recovers', async () => {
    const t = await startTestApp({}, { role: 'api' });
    try {
      const ready = await request<Readiness>(t.baseUrl, 'GET', '/readyz');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.equal(ready.body.checks.jobs?.ok, true);

      // The job store is Agenda's table: without it nothing can be scheduled.
      await t.db.pool.query('alter table agenda_jobs rename to agenda_jobs_away');
      const broken = await request<Readiness>(t.baseUrl, 'GET', '/readyz');
      assert.equal(broken.status, 503);
      assert.match(broken.body.detail ?? '', /unreachable: jobs/);
      assert.equal(broken.body.checks.postgres?.ok, true);

      await t.db.pool.query('alter table agenda_jobs_away rename to agenda_jobs');
      assert.equal((await request<Readiness>(t.baseUrl, 'GET', '/readyz')).status, 200);
    } finally {
      await t.close();
    }
  });

  it('/readyz checks MongoDB when it keeps the jobs', async (ctx) => {
    const base = process.env.MONGODB_URL;
    if (!base) {
      ctx.skip('MONGODB_URL not set: MongoDB job store test skipped');
      return;
    }
    const url = new URL(base);
    url.pathname = `/trip_export_test_${randomBytes(6).toString('hex')}`;
    const t = await startTestApp({ MONGODB_URL: url.toString() }, { role: 'api' });
    try {
      const ready = await request<Readiness>(t.baseUrl, 'GET', '/readyz');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.equal(ready.body.checks.mongodb?.ok, true);
      assert.equal(ready.body.checks.jobs, undefined);
    } finally {
      await t.close();
    }
  });
});
