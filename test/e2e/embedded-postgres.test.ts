import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { postgresAnswers } from '../../src/db/embedded.js';
import { relocatedHome } from '../../src/db/embedded-layout.js';
import { request } from '../support/http.js';
import { DIST_ROOT, freePort, PROJECT_ROOT, runServiceToExit, startServiceProcess } from '../support/process.js';

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

describe('embedded PostgreSQL in a folder only root can enter', () => {
  let privateDir: string;

  before(async () => {
    privateDir = await mkdtemp(path.join(tmpdir(), 'trip-export-private-'));
    await chmod(privateDir, 0o700);
  });
  after(() => rm(privateDir, { recursive: true, force: true }));

  it('starts from a fresh clone there as root, and stops its cluster on SIGTERM', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root (CI runs as root)');
    // A clone without symlinks out of the private folder: hard links of the build and the
    // installed packages (same file system), so the binaries really sit behind mode 0700.
    const clone = path.join(privateDir, 'trip-export');
    await mkdir(clone);
    await run('cp', ['-al', DIST_ROOT, path.join(clone, 'dist')]);
    await run('cp', ['-al', path.join(PROJECT_ROOT, 'node_modules'), path.join(clone, 'node_modules')]);
    await copyFile(path.join(PROJECT_ROOT, 'package.json'), path.join(clone, 'package.json'));
    const dataDir = path.join(clone, '.data');
    const home = await relocatedHome(dataDir);
    t.after(() => rm(home, { recursive: true, force: true }));
    const pgPort = await freePort();

    const service = await startServiceProcess({ DATABASE_URL: undefined, DATA_DIR: undefined, EXPORT_DIR: undefined, EMBEDDED_PG_PORT: String(pgPort) }, [], 90_000, {
      main: path.join(clone, 'dist/src/main.js'),
      cwd: clone,
    });
    try {
      const ready = await request<{ checks: Record<string, { ok: boolean }> }>(service.baseUrl, 'GET', '/readyz');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.equal(await answers(pgPort), true);
      assert.match(service.output(), new RegExp(`"embeddedDatabase":"${path.join(home, 'pg')}"`), 'the data folder it moved to is logged');
    } finally {
      assert.equal(await service.stop('SIGTERM'), 0, service.output());
    }
    assert.equal(await answers(pgPort), false, 'the embedded cluster stops with the service');
  });
});

describe('embedded PostgreSQL that cannot start', () => {
  it('says in one line what to do when the embedded cluster cannot start', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'trip-export-broken-'));
    try {
      await chmod(dataDir, 0o755);
      // A data folder that claims a cluster PostgreSQL cannot use.
      await mkdir(path.join(dataDir, 'pg'));
      await writeFile(path.join(dataDir, 'pg', 'PG_VERSION'), '9\n');
      const result = await runServiceToExit({ DATABASE_URL: undefined, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) });
      assert.equal(result.code, 1);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /^embedded PostgreSQL could not start on port \d+ \(data in .*\): .+ set DATABASE_URL to a PostgreSQL server you run\.$/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
