import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import type pg from 'pg';

import { CopyLinesStream } from '../../db/copy-lines.stream.js';
import { isUuid } from '../../lib/ids.js';
import { canonicalIso, microsToIso } from '../../lib/time.js';
import type { DeflatePiece } from '../ingest/segment-codec.js';
import { GZIP_BLOCK_BYTES, parallelGzip } from './parallel-gzip.js';
import { type LineCount, planTrip, segmentsOverlapping, tripPieces } from './segment-assembly.js';
import type { ExportResult } from './task-lease.store.js';

/** Nothing to export: the trip's records are gone. Retrying cannot help. */
export class NoRecordsError extends Error {
  override readonly name = 'NoRecordsError';
}

export interface ExportSource {
  readonly tripId: string;
  readonly deviceId: string;
  readonly startTs: string;
  readonly endTs: string;
  /** Line 1 of the file: the trip object. */
  readonly header: string;
}

export interface ExportWriterOptions {
  readonly exportDir: string;
  readonly gzipLevel: number;
  readonly maxBytesPerSecond?: number;
  /** Aborts the run (the lease was lost, the worker stops). */
  readonly signal: AbortSignal;
  /** Explains an empty trip in the failure reason. */
  readonly retentionDays?: number;
}

/**
 * The binary format: each stored line comes out byte for byte, and PostgreSQL does not scan it
 * for characters to quote or escape (a third less backend CPU than CSV: bench/results.md). COPY takes no bind parameters, so the values are checked to be
 * a uuid and two timestamps before they go in.
 */
function copySql(deviceId: string, startTs: string, endTs: string): string {
  const start = canonicalIso(startTs);
  const end = canonicalIso(endTs);
  if (!isUuid(deviceId) || !start || !end) throw new Error(`bad export range ${deviceId} ${startTs} ${endTs}`);
  // Ties in @ts by the line's bytes: the order record segments hold (ingest/segments.md).
  return `copy (select line from records where device_id = '${deviceId}' and ts between '${start}' and '${end}' order by ts, line collate "C")
    to stdout with (format binary)`;
}
const WRITE_CHUNK = 256 * 1024;

function noRecords(source: ExportSource, options: Pick<ExportWriterOptions, 'retentionDays'>): NoRecordsError {
  const hint = options.retentionDays ? ` (records older than ${options.retentionDays} days are removed by the retention policy)` : '';
  return new NoRecordsError(`no recorded data left for this trip between ${source.startTs} and ${source.endTs}${hint}`);
}

interface TripContent {
  /** The trip line and the records' lines, or stored segments' deflate bytes in their place. */
  readonly pieces: AsyncIterable<Buffer | DeflatePiece>;
  /** Once the pieces are read: the records written and the first and last `@ts`. */
  readonly counted: () => { records: number; first: string | null; last: string | null };
}

/**
 * What the file holds, read in the transaction's snapshot. A trip none of whose time is
 * compacted yet is one COPY of its rows, as before segments existed; otherwise stored segments
 * wholly inside the trip are copied and the rest is decoded and merged (segment-assembly.ts).
 */
async function tripContent(client: pg.PoolClient, source: ExportSource, options: Pick<ExportWriterOptions, 'retentionDays'>): Promise<TripContent> {
  const segments = await segmentsOverlapping(client, source.deviceId, source.startTs, source.endTs);
  if (segments.length > 0) {
    const counted: LineCount = { records: 0, first: null, last: null };
    const stretches = await planTrip(client, source.deviceId, source.startTs, source.endTs, segments);
    return {
      pieces: tripPieces(client, source.deviceId, source.header, stretches, counted, { blockSize: GZIP_BLOCK_BYTES }),
      counted: () => ({
        records: counted.records,
        first: counted.first === null ? null : microsToIso(counted.first),
        last: counted.last === null ? null : microsToIso(counted.last),
      }),
    };
  }
  const { rows } = await client.query<{ first: string | null; last: string | null }>(
    `select min(ts)::text as first, max(ts)::text as last from records
     where device_id = $1 and ts between $2::timestamptz and $3::timestamptz`,
    [source.deviceId, source.startTs, source.endTs],
  );
  const first = rows[0]?.first ?? null;
  const last = rows[0]?.last ?? null;
  if (first === null) throw noRecords(source, options);
  // Blocks of the gzip's own size, the trip line first: compressed without another copy.
  const copy = client.query(
    new CopyLinesStream(copySql(source.deviceId, source.startTs, source.endTs), { blockSize: GZIP_BLOCK_BYTES, prepend: Buffer.from(`${source.header}\n`) }),
  );
  return {
    pieces: copy,
    counted: () => ({
      // PostgreSQL's own count of the rows COPY sent.
      records: copy.rowCount,
      first: canonicalIso(first) ?? first,
      last: last === null ? null : (canonicalIso(last) ?? last),
    }),
  };
}

/**
 * Streams one trip into `EXPORT_DIR/<trip>/<run>.json.gz`: the trip line, then the device's
 * records in the trip's time range by `@ts`, gzipped into a temporary file that is fsynced and
 * renamed into place, so a reader never sees half a file and a crash leaves only a temp file,
 * which the next run of the trip removes before it starts writing.
 * Memory stays flat: rows flow from COPY through gzip to disk with backpressure.
 */
export async function writeExport(pool: pg.Pool, source: ExportSource, options: ExportWriterOptions): Promise<ExportResult> {
  const dir = path.join(options.exportDir, source.tripId);
  await mkdir(dir, { recursive: true });
  // Temp files of runs that were killed: this run holds the lease, so none of them can publish.
  await removeFiles(dir, (name) => name.endsWith('.tmp'));
  const run = randomUUID();
  const tmp = path.join(dir, `.${run}.tmp`);
  const finalName = `${run}.json.gz`;
  const client = await pool.connect();
  let clientBroken = false;
  try {
    // One snapshot for the bounds and the rows, so the counts describe the file.
    await client.query('begin isolation level repeatable read read only');
    const content = await tripContent(client, source, options);
    clientBroken = true; // until COPY has run to its end
    let bytes = 0;
    const hash = createHash('sha256');
    await pipeline(
      throttled(content.pieces, options),
      (text: AsyncIterable<Buffer | DeflatePiece>) => parallelGzip(text, { level: options.gzipLevel, blockSize: GZIP_BLOCK_BYTES }),
      async function* measure(gz: AsyncIterable<Buffer>) {
        for await (const chunk of gz) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(tmp, { flags: 'wx', highWaterMark: WRITE_CHUNK }),
      { signal: options.signal },
    );
    clientBroken = false;
    const counted = content.counted();
    // Segments overlapped the trip but held none of its time, and no row did either.
    if (counted.records === 0) throw noRecords(source, options);
    // fsync through a second descriptor: it flushes the file, whichever descriptor wrote it.
    await fsync(tmp);
    await client.query('commit');
    await rename(tmp, path.join(dir, finalName));
    // The rename is durable only once the folder is synced too.
    await fsync(dir);
    return {
      path: path.join(source.tripId, finalName),
      bytes,
      sha256: hash.digest('hex'),
      records: counted.records,
      firstTs: counted.first,
      lastTs: counted.last,
    };
  } catch (error) {
    await rm(tmp, { force: true });
    if (!clientBroken) await client.query('rollback').catch(() => (clientBroken = true));
    throw error;
  } finally {
    // A COPY cut off midway, or a connection that cannot roll back (PostgreSQL dropped it):
    // destroyed, never pooled again. The run fails and is retried by the lease rules.
    client.release(clientBroken);
  }
}

async function* throttled(source: AsyncIterable<Buffer | DeflatePiece>, options: Pick<ExportWriterOptions, 'maxBytesPerSecond' | 'signal'>): AsyncGenerator<Buffer | DeflatePiece> {
  const started = Date.now();
  let read = 0;
  // A COPY that failed (its connection dropped) or a run that was stopped must not wait out
  // the pause, a whole block at a slow rate, before the run ends. ('close' would also cut the
  // pause after the last block, which COPY delivers with its end.)
  const failed = new AbortController();
  if (source instanceof Readable) source.once('error', () => failed.abort());
  const wake = AbortSignal.any([failed.signal, options.signal]);
  for await (const chunk of source) {
    // The rate is of the text, whether it comes as lines or as a stored segment.
    read += Buffer.isBuffer(chunk) ? chunk.length : chunk.rawLength;
    if (options.maxBytesPerSecond) {
      const ahead = (read / options.maxBytesPerSecond) * 1000 - (Date.now() - started);
      if (ahead > 0) await sleep(ahead, undefined, { signal: wake }).catch(() => undefined);
    }
    yield chunk;
  }
}

async function fsync(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Deletes every file of the trip's folder but the current result: older results and temp
 * files of killed runs. A stale worker still writing a temp file loses it, fails to rename,
 * and its lease is gone anyway, so nothing of it is ever published.
 */
export async function removeStaleFiles(exportDir: string, tripId: string, currentPath: string | null): Promise<void> {
  const keep = currentPath ? path.basename(currentPath) : undefined;
  await removeFiles(path.join(exportDir, tripId), (name) => name !== keep);
}

async function removeFiles(dir: string, pick: (name: string) => boolean): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter(pick).map((n) => rm(path.join(dir, n), { force: true })));
}
