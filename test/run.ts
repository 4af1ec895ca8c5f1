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
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { postgresAnswers, startEmbeddedPostgres } from '../src/db/embedded.js';
import { type FileTiming, procCpuMs } from './support/file-timing.js';
import { DIST_ROOT, freePort } from './support/process.js';

const LOCAL_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .filter((file) => file.endsWith('.test.js'))
    .map((file) => path.join(dir, file))
    .sort();
}

/** Timings of the last run on this machine, by file relative to dist/test: they order the next one. */
const TIMINGS_FILE = path.join(DIST_ROOT, 'test', 'file-timings.json');
type LastTimings = Record<string, Omit<FileTiming, 'file'>>;

async function lastTimings(): Promise<LastTimings> {
  try {
    return JSON.parse(await readFile(TIMINGS_FILE, 'utf8')) as LastTimings;
  } catch {
    return {};
  }
}

/**
 * Longest first: the runner starts files in the order given, so a long file started last
 * would run on alone after the others finished. A file the last run did not time (new, or
 * no run yet) counts as long, so a new slow file cannot end up last.
 */
async function longestFirst(files: string[]): Promise<string[]> {
  const known = await lastTimings();
  const estimate = (file: string) => known[path.relative(path.join(DIST_ROOT, 'test'), file)]?.wallMs ?? Infinity;
  return [...files].sort((a, b) => estimate(b) - estimate(a) || a.localeCompare(b));
}

/** Prints where the time went, slowest files first, and keeps the wall times for the next run's order. */
async function reportTimings(timingsFile: string, wallMs: number): Promise<void> {
  const text = await readFile(timingsFile, 'utf8').catch(() => '');
  const timings = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FileTiming)
    .sort((a, b) => b.wallMs - a.wallMs);
  if (timings.length === 0) return;
  const s = (ms: number) => (ms / 1000).toFixed(1).padStart(6);
  console.log('# slowest files: wall s, CPU s of the test process + of its child processes');
  for (const t of timings.slice(0, 12)) console.log(`# ${s(t.wallMs)} ${s(t.cpuMs)} +${s(t.childCpuMs)}  ${path.relative(DIST_ROOT, t.file)}`);
  // The runner's waited-for children are the whole run: every file and the processes it started.
  const cpuMs = procCpuMs()?.[1];
  console.log(`# ${timings.length} files in ${s(wallMs)} s wall${cpuMs === undefined ? '' : `, ${s(cpuMs)} s CPU (not counting the PostgreSQL and Redis servers)`}`);
  const kept = await lastTimings();
  for (const { file, ...timing } of timings) kept[path.relative(path.join(DIST_ROOT, 'test'), file)] = timing;
  await writeFile(TIMINGS_FILE, `${JSON.stringify(kept, null, 1)}\n`);
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
  const files = await longestFirst(process.argv.length > 2 ? process.argv.slice(2) : await testFiles(path.join(DIST_ROOT, 'test')));
  const timingDir = await mkdtemp(path.join(tmpdir(), 'trip-export-test-timings-'));
  env.TEST_TIMINGS_FILE = path.join(timingDir, 'timings.jsonl');
  const timing = new URL('./support/file-timing.js', import.meta.url).href;
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', timing, '--test', `--test-concurrency=${concurrency}`, ...files], { env, stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  await reportTimings(env.TEST_TIMINGS_FILE, Date.now() - started);
  await rm(timingDir, { recursive: true, force: true });
  await stopEmbedded?.();
  return code ?? 1;
}

process.exitCode = await main();
