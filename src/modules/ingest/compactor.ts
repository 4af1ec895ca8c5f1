/**
 * Turns a device's closed stretch of records into compressed segments (./segments.md): the
 * rows are read with binary COPY in `(ts, line)` order, cut into segments, deflated on the
 * thread pool, inserted, and deleted from `records`, all in one transaction.
 */
import type pg from 'pg';

import { CopyLinesStream } from '../../db/copy-lines.stream.js';
import { transaction } from '../../db/pg-transaction.js';
import { isUuid } from '../../lib/ids.js';
import { canonicalIso } from '../../lib/time.js';
import { deflateSegment, type EncodedSegment, SEGMENT_LEVEL } from './segment-codec.js';
import { indexNewSegments } from './segment-rows.js';

export interface CompactOptions {
  /** Records per segment at most (a group of records at one `@ts` is never split). */
  readonly maxRecordsPerSegment: number;
  /** Segments written by one call at most: bounds the work and the transaction. */
  readonly maxSegments: number;
  /** Bytes of lines per segment at most (default {@link SEGMENT_BYTES}). */
  readonly maxSegmentBytes?: number;
  /** Deflate level (default {@link SEGMENT_LEVEL}). */
  readonly level?: number;
}

export interface CompactOutcome {
  readonly segments: number;
  readonly records: number;
  /** Bytes of the lines compacted, and of their compressed segments. */
  readonly rawBytes: number;
  readonly storedBytes: number;
  /** Rows older than `before` are left: more than `maxSegments` segments of them. */
  readonly more: boolean;
}

/**
 * 1 MiB of lines (about 4,700 records of 225 bytes): deflate gains under 1 % beyond it, the
 * export of a trip that cuts a segment decodes and recompresses at most two of them (a few ms
 * each), and a segment is one bytea of ~70 KiB.
 */
export const SEGMENT_BYTES = 1 << 20;

/** Segments deflating on the thread pool while COPY goes on reading. */
const PARALLEL = 3;
const READ_BLOCK = 256 * 1024;

/** What the compactor would write, from one aggregate over the rows (no line leaves PostgreSQL). */
interface PlannedSegment {
  readonly first: string;
  readonly last: string;
  readonly records: number;
  readonly bytes: number;
}

/**
 * Compacts the records of `deviceId` older than `before` that lie after its last segment, at
 * most `maxSegments` segments of them. It holds the device's row lock, the one every upload of
 * the device takes first (ingest.service.ts), so no row of the device is added while it reads
 * and deletes; the delete is checked to remove exactly the rows the segments hold.
 * Rows at or before the last segment's end (late data inside compacted time) are not touched.
 */
export async function compactDevice(pool: pg.Pool, deviceId: string, before: string, options: CompactOptions): Promise<CompactOutcome> {
  const cutoff = canonicalIso(before);
  if (!isUuid(deviceId) || !cutoff) throw new Error(`bad compaction range ${deviceId} ${before}`);
  const maxBytes = options.maxSegmentBytes ?? SEGMENT_BYTES;
  return transaction(pool, async (client) => {
    // Read committed: every statement after the lock sees every upload committed before it.
    const locked = await client.query('select 1 from devices where id = $1 for update', [deviceId]);
    if (!locked.rowCount) return { segments: 0, records: 0, rawBytes: 0, storedBytes: 0, more: false };
    const { rows: lastRows } = await client.query<{ last: string }>('select last_ts::text as last from record_segments where device_id = $1 order by first_ts desc limit 1', [
      deviceId,
    ]);
    const after = lastRows[0]?.last ?? null;
    const plan = await planSegments(client, deviceId, after, cutoff, maxBytes, options);
    const segments = plan.slice(0, options.maxSegments);
    if (segments.length === 0) return { segments: 0, records: 0, rawBytes: 0, storedBytes: 0, more: false };
    const encoded = await readAndDeflate(client, deviceId, after, segments, options.level ?? SEGMENT_LEVEL);
    for (const [i, segment] of encoded.entries()) {
      await client.query(
        `insert into record_segments (device_id, first_ts, last_ts, record_count, raw_length, crc32, data)
         values ($1, $2::timestamptz, $3::timestamptz, $4, $5, $6, $7)`,
        [deviceId, segments[i]!.first, segments[i]!.last, segment.recordCount, segment.rawLength, segment.crc32, segment.data],
      );
    }
    // h16b: what trips, tracks and the late-data merge need of the rows, taken before they go.
    await indexNewSegments(client, deviceId);
    const records = segments.reduce((n, s) => n + s.records, 0);
    const deleted = await client.query(`delete from records where device_id = $1 and ($2::timestamptz is null or ts > $2::timestamptz) and ts <= $3::timestamptz`, [
      deviceId,
      after,
      segments.at(-1)!.last,
    ]);
    // The lock makes this hold; if it ever did not, nothing is written rather than rows lost.
    if (deleted.rowCount !== records) throw new Error(`compaction of ${deviceId} read ${records} records but would delete ${deleted.rowCount}`);
    return {
      segments: segments.length,
      records,
      rawBytes: segments.reduce((n, s) => n + s.bytes, 0),
      storedBytes: encoded.reduce((n, s) => n + s.data.length, 0),
      more: plan.length > segments.length,
    };
  });
}

/**
 * Cuts the rows into segments of about `maxBytes` of lines or `maxRecordsPerSegment` records,
 * whichever comes first, between two distinct timestamps only: segments must not share a `@ts`,
 * or their `[first_ts, last_ts]` would overlap. One row per segment (plus one, to tell whether
 * more remain) comes back.
 */
async function planSegments(client: pg.PoolClient, deviceId: string, after: string | null, before: string, maxBytes: number, options: CompactOptions): Promise<PlannedSegment[]> {
  const { rows } = await client.query<{ first: string; last: string; records: string; bytes: string }>(
    `with per_ts as (
       select ts, count(*) as n, sum(octet_length(line) + 1) as b
         from records where device_id = $1 and ($2::timestamptz is null or ts > $2::timestamptz) and ts < $3::timestamptz
        group by ts
     ), numbered as (
       select ts, n, b,
              greatest(floor((sum(b) over w - b) / $4), floor((sum(n) over w - n) / $5)) as segment
         from per_ts window w as (order by ts)
     )
     select min(ts)::text as first, max(ts)::text as last, sum(n)::text as records, sum(b)::text as bytes
       from numbered group by segment order by segment limit $6`,
    [deviceId, after, before, maxBytes, options.maxRecordsPerSegment, options.maxSegments + 1],
  );
  return rows.map((r) => ({ first: r.first, last: r.last, records: Number(r.records), bytes: Number(r.bytes) }));
}

/** One COPY over all the planned segments, split at their byte lengths, deflated as they fill. */
async function readAndDeflate(client: pg.PoolClient, deviceId: string, after: string | null, segments: readonly PlannedSegment[], level: number): Promise<EncodedSegment[]> {
  const from = after ? `and ts > '${canonicalIso(after)}'` : '';
  const to = canonicalIso(segments.at(-1)!.last)!;
  const copy = client.query(
    new CopyLinesStream(`copy (select line from records where device_id = '${deviceId}' ${from} and ts <= '${to}' order by ts, line collate "C") to stdout with (format binary)`, {
      blockSize: READ_BLOCK,
    }),
  );
  const done: Promise<EncodedSegment>[] = [];
  const inFlight = new Set<Promise<EncodedSegment>>();
  let index = 0;
  let buffer = Buffer.allocUnsafe(segments[0]!.bytes);
  let used = 0;
  const finish = async (): Promise<void> => {
    const segment = deflateSegment(buffer, segments[index]!.records, level);
    done.push(segment);
    inFlight.add(segment);
    void segment.finally(() => inFlight.delete(segment)).catch(() => undefined);
    index++;
    if (index < segments.length) buffer = Buffer.allocUnsafe(segments[index]!.bytes);
    used = 0;
    if (inFlight.size >= PARALLEL) await Promise.race(inFlight);
  };
  for await (const block of copy as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < block.length) {
      if (index >= segments.length) throw new Error(`compaction of ${deviceId}: COPY sent more bytes than planned`);
      const n = block.copy(buffer, used, at);
      used += n;
      at += n;
      if (used === buffer.length) await finish();
    }
  }
  if (index < segments.length) throw new Error(`compaction of ${deviceId}: COPY sent fewer bytes than planned`);
  return Promise.all(done);
}
