import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { postgresAnswers } from '../../src/db/embedded.js';
import { request } from '../support/http.js';
import { DIST_ROOT, freePort, startServiceProcess } from '../support/process.js';

const run = promisify(execFile);

const answers = (port: number): Promise<boolean> => postgresAnswers(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`);

describe('npm start without DATABASE_URL (embedded PostgreSQL)', () => {
  let dataDir: string;
  let env: Record<string, string | undefined>;
  let pgPort: number;

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'trip-export-embedded-'));
    // As root, the cluster runs as an unprivileged user that must reach the folder.
    await chmod(dataDir, 0o755);
    pgPort = await freePort();
    env = { DATABASE_URL: undefined, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), EXPORT_DIR: path.join(dataDir, 'exports') };
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('starts its own PostgreSQL on its own port, keeps data across a restart, and stops it on SIGTERM', async () => {
    const first = await startServiceProcess(env);
    let token: string;
    try {
      // The admin CLI finds the running cluster and uses it instead of starting a second one.
      const { stdout } = await run(
        process.execPath,
        [`${DIST_ROOT}src/cli/admin.js`, 'create-customer', '--name', 'Embedded', '--email', 'e@embedded.test', '--password', 'secret-1'],
        {
          env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort) },
        },
      );
      token = (JSON.parse(stdout) as { api_token: string }).api_token;
      const listed = await request(first.baseUrl, 'GET', '/auth/api_tokens/', { token });
      assert.equal(listed.status, 200);
      assert.ok(existsSync(path.join(dataDir, 'pg', 'PG_VERSION')));
    } finally {
      assert.equal(await first.stop('SIGTERM'), 0, first.output());
    }
    assert.equal(await answers(pgPort), false, 'the embedded cluster stops with the service');
    assert.equal(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), false);

    const second = await startServiceProcess(env);
    try {
      const listed = await request(second.baseUrl, 'GET', '/auth/api_tokens/', { token });
      assert.equal(listed.status, 200, 'data survives a restart');
    } finally {
      assert.equal(await second.stop('SIGTERM'), 0, second.output());
    }
  });
});
