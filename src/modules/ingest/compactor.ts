/**
 * Turns a device's closed stretch of records into compressed segments (./segments.md): the
 * rows are read with binary COPY in `(ts, line)` order, each line with its row's `ts`, `lat` and
 * `lon`, cut into segments with their index, deflated on the thread pool, inserted, and deleted
 * from `records`, all in one transaction.
 */
import type pg from 'pg';

import { CopyLinesStream } from '../../db/copy-lines.stream.js';
import { transaction } from '../../db/pg-transaction.js';
import { isUuid } from '../../lib/ids.js';
import { canonicalIso, microsToIso } from '../../lib/time.js';
import { encodeSegmentIndex } from '../trips/segment-index.js';
import { partitionsEndedBy } from './partitions.js';
import { deflateSegment, type EncodedSegment, SEGMENT_LEVEL } from './segment-codec.js';
import { indexOfRowColumns, ROW_COLUMNS_BYTES, ROW_COLUMNS_SQL, rowMicros } from './segment-rows.js';

export interface CompactOptions {
  /** Records per segment at most (a group of records at one `@ts` is never split). */
  readonly maxRecordsPerSegment: number;
  /**
   * Segments written by one call at most. With `maxRecordsPerSegment` it bounds the rows one
   * call reads: `maxSegments × maxRecordsPerSegment` (and one more).
   */
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
const NEWLINE = 0x0a;

interface CutSegment {
  readonly first: bigint;
  readonly last: bigint;
  readonly records: number;
  readonly encoded: Promise<EncodedSegment>;
  /** Its index (`positions`), from the rows' columns. */
  readonly positions: Buffer;
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
  return transaction(pool, async (client) => {
    // Read committed: every statement after the lock sees every upload committed before it.
    const locked = await client.query('select 1 from devices where id = $1 for update', [deviceId]);
    if (!locked.rowCount) return { segments: 0, records: 0, rawBytes: 0, storedBytes: 0, more: false };
    const { rows: lastRows } = await client.query<{ last: string }>('select last_ts::text as last from record_segments where device_id = $1 order by first_ts desc limit 1', [
      deviceId,
    ]);
    const after = lastRows[0]?.last ? canonicalIso(lastRows[0].last)! : null;
    const { segments, more } = await readAndCut(client, deviceId, after, cutoff, options);
    if (segments.length === 0) return { segments: 0, records: 0, rawBytes: 0, storedBytes: 0, more };
    const encoded = await Promise.all(segments.map((s) => s.encoded));
    for (const [i, segment] of encoded.entries()) {
      const { first, last, positions } = segments[i]!;
      await client.query(
        `insert into record_segments (device_id, first_ts, last_ts, record_count, raw_length, crc32, data, positions)
         values ($1, $2::timestamptz, $3::timestamptz, $4, $5, $6, $7, $8)`,
        [deviceId, microsToIso(first), microsToIso(last), segment.recordCount, segment.rawLength, segment.crc32, segment.data, positions],
      );
    }
    const records = encoded.reduce((n, s) => n + s.recordCount, 0);
    const deleted = await client.query(`delete from records where device_id = $1 and ($2::timestamptz is null or ts > $2::timestamptz) and ts <= $3::timestamptz`, [
      deviceId,
      after,
      microsToIso(segments.at(-1)!.last),
    ]);
    // The lock makes this hold; if it ever did not, nothing is written rather than rows lost.
    if (deleted.rowCount !== records) throw new Error(`compaction of ${deviceId} read ${records} records but would delete ${deleted.rowCount}`);
    return {
      segments: segments.length,
      records,
      rawBytes: encoded.reduce((n, s) => n + s.rawLength, 0),
      storedBytes: encoded.reduce((n, s) => n + s.data.length, 0),
      more,
    };
  });
}

/**
 * Rows one call reads: enough for `maxSegments` segments and half one more at the line length of
 * the first rows, within `maxSegments × maxRecordsPerSegment`. Once the segments are full the
 * rest of the COPY is read off unused, so a bound by records alone read twice the rows a call
 * keeps when 1 MiB fills a segment first (225-byte lines: 4,700 records, not 10,000).
 */
async function rowsToRead(client: pg.PoolClient, deviceId: string, after: string | null, before: string, options: CompactOptions): Promise<number> {
  const { rows } = await client.query<{ bytes: number | null }>(
    `select avg(octet_length(line) + 1)::float8 as bytes from (select line from records where device_id = $1
        and ($2::timestamptz is null or ts > $2::timestamptz) and ts < $3::timestamptz order by ts limit 64) sample`,
    [deviceId, after, before],
  );
  const most = options.maxSegments * options.maxRecordsPerSegment;
  const perSegment = rows[0]?.bytes ? (options.maxSegmentBytes ?? SEGMENT_BYTES) / rows[0].bytes : options.maxRecordsPerSegment;
  // One line more than the segments can hold: it closes the last of them.
  return Math.min(most, Math.ceil((options.maxSegments + 0.5) * perSegment)) + 1;
}

/**
 * One COPY of the rows in `(ts, line)` order, each value the row's `ts`, `lat`, `lon` in binary
 * ({@link ROW_COLUMNS_SQL}, fixed length) followed by its line, cut into segments as they
 * stream: a segment closes before the line that would take it past `maxSegmentBytes` or
 * `maxRecordsPerSegment`, but only between two distinct timestamps (segments must not share a
 * `@ts`, or their `[first_ts, last_ts]` would overlap). Each segment is deflated on the thread
 * pool as soon as it is closed, and its index built from its rows' columns.
 */
async function readAndCut(
  client: pg.PoolClient,
  deviceId: string,
  after: string | null,
  before: string,
  options: CompactOptions,
): Promise<{ segments: CutSegment[]; more: boolean }> {
  const maxBytes = options.maxSegmentBytes ?? SEGMENT_BYTES;
  const maxRecords = options.maxRecordsPerSegment;
  const limit = await rowsToRead(client, deviceId, after, before, options);
  const level = options.level ?? SEGMENT_LEVEL;
  const copy = client.query(
    new CopyLinesStream(
      `copy (select ${ROW_COLUMNS_SQL} || textsend(line) from records where device_id = '${deviceId}' ${after ? `and ts > '${after}'` : ''} and ts < '${before}'
        order by ts, line collate "C" limit ${limit}) to stdout with (format binary)`,
      { blockSize: READ_BLOCK },
    ),
  );
  const segments: CutSegment[] = [];
  const inFlight = new Set<Promise<EncodedSegment>>();
  /** The open segment's lines (each with its '\n') and its rows' columns. */
  let lines: Buffer[] = [];
  let columns: Buffer[] = [];
  let bytes = 0;
  let firstAt = 0n;
  let lastAt = 0n;
  let full = false;
  const close = (): void => {
    const records = lines.length;
    const encoded = deflateSegment(Buffer.concat(lines, bytes), records, level);
    const positions = encodeSegmentIndex(indexOfRowColumns(Buffer.concat(columns, records * ROW_COLUMNS_BYTES)));
    segments.push({ first: firstAt, last: lastAt, records, encoded, positions });
    inFlight.add(encoded);
    // Awaited in order later; until then a failure must not count as unhandled.
    void encoded.then(
      () => inFlight.delete(encoded),
      () => undefined,
    );
    lines = [];
    columns = [];
    bytes = 0;
    if (segments.length === options.maxSegments) full = true;
  };
  /** The row in `buffer` from `start` to `end` (its '\n' included). */
  const take = (buffer: Buffer, start: number, end: number): void => {
    const at = rowMicros(buffer, start);
    const line = buffer.subarray(start + ROW_COLUMNS_BYTES, end);
    if (lines.length > 0 && (bytes + line.length > maxBytes || lines.length >= maxRecords) && at !== lastAt) close();
    if (lines.length === 0) firstAt = at;
    lastAt = at;
    lines.push(line);
    columns.push(buffer.subarray(start, start + ROW_COLUMNS_BYTES));
    bytes += line.length;
  };
  /** The start of a row that goes on in the next block. */
  let carry: Buffer | undefined;
  for await (const block of copy as AsyncIterable<Buffer>) {
    // Past the segments wanted: read off to COPY's end, which the connection needs.
    if (full) continue;
    let start = 0;
    if (carry) {
      // The columns are binary and may hold a '\n': a row's line ends at the first one after them.
      const end = block.indexOf(NEWLINE, Math.max(0, ROW_COLUMNS_BYTES - carry.length)) + 1;
      if (end === 0) {
        carry = Buffer.concat([carry, block]);
        continue;
      }
      const row = Buffer.concat([carry, block.subarray(0, end)]);
      take(row, 0, row.length);
      carry = undefined;
      start = end;
    }
    while (start < block.length && !full) {
      const end = block.indexOf(NEWLINE, start + ROW_COLUMNS_BYTES) + 1;
      if (end === 0) {
        carry = block.subarray(start);
        break;
      }
      take(block, start, end);
      start = end;
    }
    while (inFlight.size >= PARALLEL) await Promise.race(inFlight);
  }
  const limited = copy.rowCount === limit;
  // A LIMIT may have cut the last group of one `@ts` short: the open segment waits for the next call.
  if (!full && !limited && lines.length > 0) close();
  return { segments, more: full || limited };
}

const PARTITION_NAME = /^records_\d{4}m\d{2}$/;

/**
 * Gives back the space of a month partition of `records` once compaction has emptied it: a
 * VACUUM truncates its table, but the B-tree pages of the deleted rows stay allocated (reused
 * only by later rows of that month, which a past month rarely gets): 47 bytes a record, more
 * than the segments themselves take. Its indexes are rebuilt CONCURRENTLY, so an upload into
 * the month waits for nothing. Answers false, doing nothing, while the partition holds rows.
 * Neither statement can run inside a transaction: each goes on a connection of its own.
 */
export async function reclaimEmptiedPartition(pool: pg.Pool, partition: string): Promise<boolean> {
  if (!PARTITION_NAME.test(partition)) throw new Error(`not a records partition: ${partition}`);
  const { rowCount } = await pool.query(`select from "${partition}" limit 1`);
  if (rowCount) return false;
  await pool.query(`vacuum "${partition}"`);
  await pool.query(`reindex table concurrently "${partition}"`);
  return true;
}

/** Below this, a partition's indexes are not worth a rebuild (an empty one's are 8 KiB each). */
const RECLAIM_INDEX_BYTES = 1024 * 1024;

/**
 * reclaimEmptiedPartition for every month partition that ended before `before` (the compactor's
 * cutoff: nothing in it is left for compaction) and whose indexes still hold more than
 * RECLAIM_INDEX_BYTES. A partition that was reclaimed falls below that, so each is rebuilt once,
 * unless late rows land in its month again. Answers the partitions it gave back.
 */
export async function reclaimEmptiedPartitions(pool: pg.Pool, before: string): Promise<string[]> {
  const parts = await partitionsEndedBy(pool, before, RECLAIM_INDEX_BYTES);
  const reclaimed: string[] = [];
  for (const { name, detachPending } of parts) if (!detachPending && PARTITION_NAME.test(name) && (await reclaimEmptiedPartition(pool, name))) reclaimed.push(name);
  return reclaimed;
}
