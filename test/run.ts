/**
 * `npm test`: runs every test file with node's test runner, several files at once.
 *
 * The tests need a PostgreSQL server. They use `TEST_DATABASE_URL` when it is set, else a
 * server on 127.0.0.1:5432 when one answers (CI and the development machines have one), else
 * an embedded PostgreSQL started here for the whole run, so that `npm test` passes on a
 * machine that has only Node.js, as `npm start` does.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { postgresAnswers, startEmbeddedPostgres } from '../src/db/embedded.js';
import { DIST_ROOT, freePort } from './support/process.js';

const LOCAL_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .filter((file) => file.endsWith('.test.js'))
    .map((file) => path.join(dir, file))
    .sort();
}

async function main(): Promise<number> {
  const env = { ...process.env };
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!env.TEST_DATABASE_URL) {
    if (await postgresAnswers(LOCAL_SERVER, 2000)) {
      env.TEST_DATABASE_URL = LOCAL_SERVER;
    } else {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'trip-export-test-pg-'));
      // mkdtemp makes the folder 0700; as root, the cluster runs as another user who must enter it.
      await chmod(dataDir, 0o755);
      console.log(`# no PostgreSQL on 127.0.0.1:5432 and TEST_DATABASE_URL unset: starting an embedded one in ${dataDir}`);
      const embedded = await startEmbeddedPostgres(dataDir, await freePort());
      env.TEST_DATABASE_URL = embedded.url.replace(/\/trip_export$/, '/postgres');
      stopEmbedded = async () => {
        await embedded.stop();
        await rm(dataDir, { recursive: true, force: true });
      };
    }
  }
  // Most test time is waiting (export delays, retries, child processes starting), so more
  // files than cores run at once; TEST_CONCURRENCY=1 runs them one at a time.
  const concurrency = env.TEST_CONCURRENCY ?? '4';
  const files = process.argv.length > 2 ? process.argv.slice(2) : await testFiles(path.join(DIST_ROOT, 'test'));
  const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { env, stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  await stopEmbedded?.();
  return code ?? 1;
}

process.exitCode = await main();
