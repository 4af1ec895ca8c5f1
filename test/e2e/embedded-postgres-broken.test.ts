import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { freePort, runServiceToExit } from '../support/process.js';

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
