import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { postgresAnswers } from '../../src/db/embedded.js';
import { relocatedHome } from '../../src/db/embedded-layout.js';
import { request } from '../support/http.js';
import { DIST_ROOT, freePort, PROJECT_ROOT, startServiceProcess } from '../support/process.js';

const run = promisify(execFile);

const answers = (port: number): Promise<boolean> => postgresAnswers(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`);

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
