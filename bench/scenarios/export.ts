/**
 * Export scenario: the service's export of one stored trip, in a process of its own (wall
 * time, records/s, peak RSS, size), against psql's COPY of the same rows into gzip at the
 * same level, into a file.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { deflateRawSync, gunzipSync } from 'node:zlib';

import copyStreams from 'pg-copy-streams';

import { canonicalIso } from '../../src/lib/time.js';
import { RECORDS_COPY_IN } from '../../src/modules/ingest/record-copy.js';
import { DIST_ROOT } from '../../test/support/process.js';
import type { BenchContext } from '../context.js';
import type { CpuUse } from '../cpu.js';
import { copyChunks } from '../dataset.js';

const run = promisify(execFile);

export interface StoredTrip {
  readonly tripId: string;
  readonly deviceId: string;
  readonly startTs: string;
  readonly endTs: string;
  readonly records: number;
}

export interface ExportRuns {
  /** The process's first export: a new database connection, shared buffers not yet touched. */
  readonly firstSeconds: number;
  /** The measured exports after it, in the same process. */
  readonly seconds: readonly number[];
  /** Where the CPU went during each measured export. */
  readonly cpu: readonly CpuUse[];
  readonly bytes: number;
  readonly records: number;
  /** Over the whole process, warm-up included. */
  readonly maxRssBytes: number;
}

/** Stores a completed trip of `count` records the way uploads would have left it. */
export async function storeTrip(ctx: BenchContext, start: string, count: number, noisy = false): Promise<StoredTrip> {
  const device = await ctx.newDevice();
  await ctx.db.pool.query('SELECT ensure_records_partition($1)', [start]);
  const client = await ctx.db.pool.connect();
  try {
    await pipeline(Readable.from(copyChunks([{ device, start, count, noisy }])), client.query(copyStreams.from(RECORDS_COPY_IN)));
  } finally {
    client.release();
  }
  // The trip spans exactly its records, as trip detection would have cut it.
  const { rows } = await ctx.db.pool.query<{ first: string; last: string }>('SELECT min(ts)::text AS first, max(ts)::text AS last FROM records WHERE device_id = $1', [device.id]);
  const first = canonicalIso(rows[0]!.first)!;
  const last = canonicalIso(rows[0]!.last)!;
  const tripId = randomUUID();
  await ctx.db.pool.query(
    `INSERT INTO trips (id, customer_id, device_id, start_time_utc, end_time_utc, state, end_count, distance_km) VALUES ($1, $2, $3, $4, $5, 'completed', 1, 0)`,
    [tripId, ctx.principal.customerId, device.id, first, last],
  );
  await ctx.db.pool.query('VACUUM ANALYZE records');
  return { tripId, deviceId: device.id, startTs: first, endTs: last, records: count };
}

/** One worker process: a warm-up export, then `runs` measured ones. */
export async function runServiceExports(ctx: BenchContext, trip: StoredTrip, exportDir: string, level: number, runs: number): Promise<ExportRuns> {
  const { stdout } = await run(
    process.execPath,
    [`${DIST_ROOT}bench/export-child.js`, ctx.url, trip.tripId, ctx.principal.customerId, trip.deviceId, exportDir, String(level), String(runs)],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as ExportRuns;
}

/** `psql -c "\copy (…) to stdout …" | gzip -N > file`: the same rows, the textbook pipe. */
export async function runPsqlBaseline(ctx: BenchContext, trip: StoredTrip, exportDir: string, level: number): Promise<{ seconds: number; bytes: number }> {
  await mkdir(exportDir, { recursive: true });
  const file = `${exportDir}/baseline-${trip.tripId}.json.gz`;
  const copy = `\\copy (select line from records where device_id = '${trip.deviceId}' and ts between '${trip.startTs}' and '${trip.endTs}' order by ts) to stdout with (format csv, quote e'\\x01', delimiter e'\\x02')`;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -o pipefail; psql "$1" -qAt -c "$2" | gzip -${level} > "$3"`, 'baseline', ctx.url, copy, file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`baseline failed (${code}): ${err}`))));
  });
  const seconds = (performance.now() - started) / 1000;
  const { size } = await stat(file);
  await rm(file, { force: true });
  return { seconds, bytes: size };
}

/** Deflates the bytes it is sent at the level it is given and answers with the milliseconds. */
const DEFLATE_WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { deflateRawSync } = require('node:zlib');
  parentPort.on('message', (bytes) => {
    const started = performance.now();
    deflateRawSync(bytes, { level: workerData.level });
    parentPort.postMessage(performance.now() - started);
  });`;

export interface DeflateBound {
  /** The whole text on one core. */
  readonly oneCoreSeconds: number;
  /** Each half on a core of its own, at the same time: wall time until both are done. */
  readonly twoCoresSeconds: number;
  readonly bytes: number;
}

/**
 * The bound of the export: deflate of the same uncompressed bytes (read back from the
 * service's result) at the same level, in memory, on one core and then split over two cores
 * at once. No export can be faster than the second figure.
 */
export async function deflateAlone(trip: StoredTrip, exportDir: string, level: number): Promise<DeflateBound> {
  const dir = `${exportDir}/${trip.tripId}`;
  const [result] = (await readdir(dir)).filter((name) => name.endsWith('.json.gz'));
  if (!result) throw new Error(`no export result in ${dir}`);
  const text = gunzipSync(await readFile(`${dir}/${result}`));
  let started = performance.now();
  deflateRawSync(text, { level });
  const oneCoreSeconds = (performance.now() - started) / 1000;
  const workers = [0, 1].map(() => new Worker(DEFLATE_WORKER, { eval: true, workerData: { level } }));
  try {
    const deflate = (worker: Worker, bytes: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
        worker.postMessage(bytes);
      });
    const half = Math.floor(text.length / 2);
    const halves = [Buffer.from(text.subarray(0, half)), Buffer.from(text.subarray(half))];
    // Once unmeasured: the workers start and load zlib.
    await Promise.all(workers.map((w) => deflate(w, halves[0]!.subarray(0, 1 << 16))));
    started = performance.now();
    await Promise.all(workers.map((w, i) => deflate(w, halves[i]!)));
    return { oneCoreSeconds, twoCoresSeconds: (performance.now() - started) / 1000, bytes: text.length };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
