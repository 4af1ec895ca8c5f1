/**
 * Late data inside compacted time: rows that landed at or before a device's last segment's end
 * (uploaded late, or before its oldest segment). Each such row belongs to the last segment that
 * starts at or before it (the device's first segment when it is older than all): that segment is
 * decoded, the rows merged into its lines in `(ts, line)` order, the result re-encoded (cut again
 * at the segment size when it grew past it) and swapped in for the segment, and the rows deleted
 * — one transaction under the device lock every upload takes, so nothing is lost or doubled.
 */
import type pg from 'pg';

import { transaction } from '../../db/pg-transaction.js';
import { microsToIso } from '../../lib/time.js';
import { SegmentIndexBuilder } from '../trips/segment-index.js';
import { SEGMENT_BYTES } from './compactor.js';
import { deflateSegment } from './segment-codec.js';
import { lineOrder, type SegmentLine, segmentLines } from './segment-rows.js';

export interface MergeOptions {
  /** Records per rebuilt segment at most, as for new segments. */
  readonly maxRecordsPerSegment: number;
  /** Segments rebuilt by one call at most; late rows merged at most (whole `@ts` groups). */
  readonly maxSegments: number;
  readonly maxRows: number;
}

export interface MergeOutcome {
  /** Segments rebuilt, and late rows merged into them. */
  readonly segments: number;
  readonly records: number;
  /** Late rows are left for another call. */
  readonly more: boolean;
}

interface Target {
  readonly id: string;
  readonly data: Buffer;
  readonly positions: Buffer | null;
  /** Late rows at `[lo, hi)` belong to this segment; `lo` null for the first, `hi` null for the last (then up to `last`). */
  readonly lo: string | null;
  readonly hi: string | null;
  readonly last: string;
}

const NONE: MergeOutcome = { segments: 0, records: 0, more: false };

export async function mergeLateRows(pool: pg.Pool, deviceId: string, options: MergeOptions): Promise<MergeOutcome> {
  return transaction(pool, async (tx) => {
    const locked = await tx.query('SELECT 1 FROM devices WHERE id = $1 FOR UPDATE', [deviceId]);
    if (!locked.rowCount) return NONE;
    let segments = 0;
    let records = 0;
    while (segments < options.maxSegments && records < options.maxRows) {
      const target = await nextTarget(tx, deviceId);
      if (!target) return { segments, records, more: false };
      records += await rebuild(tx, deviceId, target, options, options.maxRows - records);
      segments++;
    }
    return { segments, records, more: (await nextTarget(tx, deviceId)) !== undefined };
  });
}

/** The segment the oldest late row belongs to, with its range; undefined when no row is late. */
async function nextTarget(tx: pg.PoolClient, deviceId: string): Promise<Target | undefined> {
  const { rows } = await tx.query<Target>(
    `WITH oldest AS (
       SELECT r.ts FROM records r
        WHERE r.device_id = $1 AND r.ts <= (SELECT last_ts FROM record_segments WHERE device_id = $1 ORDER BY first_ts DESC LIMIT 1)
        ORDER BY r.ts LIMIT 1
     ), target AS (
       SELECT coalesce(
         (SELECT s.id FROM record_segments s, oldest WHERE s.device_id = $1 AND s.first_ts <= oldest.ts ORDER BY s.first_ts DESC LIMIT 1),
         (SELECT s.id FROM record_segments s WHERE s.device_id = $1 ORDER BY s.first_ts LIMIT 1)) AS id
       FROM oldest
     )
     SELECT s.id, s.data, s.positions, s.last_ts::text AS last,
            CASE WHEN EXISTS (SELECT FROM record_segments p WHERE p.device_id = $1 AND p.first_ts < s.first_ts) THEN s.first_ts::text END AS lo,
            (SELECT min(n.first_ts)::text FROM record_segments n WHERE n.device_id = $1 AND n.first_ts > s.first_ts) AS hi
       FROM record_segments s JOIN target ON s.id = target.id`,
    [deviceId],
  );
  return rows[0];
}

/** Merges the target's late rows (at most about `maxRows`, whole `@ts` groups) into it; answers how many. */
async function rebuild(tx: pg.PoolClient, deviceId: string, target: Target, options: MergeOptions, maxRows: number): Promise<number> {
  const range = `device_id = $1 AND ($2::timestamptz IS NULL OR ts >= $2::timestamptz)
                 AND CASE WHEN $3::timestamptz IS NULL THEN ts <= $4::timestamptz ELSE ts < $3::timestamptz END`;
  const bounds = [deviceId, target.lo, target.hi, target.last];
  // The newest `@ts` taken: all rows at it, so a group of equal times is never split.
  const { rows: cut } = await tx.query<{ upto: string }>(`SELECT max(ts)::text AS upto FROM (SELECT ts FROM records WHERE ${range} ORDER BY ts LIMIT $5) late`, [
    ...bounds,
    Math.max(1, maxRows),
  ]);
  const upto = cut[0]!.upto;
  const { rows } = await tx.query<{ us: string; line: string; lat: number | null; lon: number | null }>(
    `SELECT (extract(epoch from ts) * 1000000)::bigint::text AS us, line, lat, lon FROM records
      WHERE ${range} AND ts <= $5::timestamptz ORDER BY ts, line COLLATE "C"`,
    [...bounds, upto],
  );
  const late: SegmentLine[] = rows.map((r) => ({ at: BigInt(r.us), line: Buffer.from(r.line, 'utf8'), lat: r.lat, lon: r.lon }));
  const merged = mergeSorted(segmentLines(target), late);
  await tx.query('DELETE FROM record_segments WHERE id = $1', [target.id]);
  for (const chunk of cutSegments(merged, options.maxRecordsPerSegment)) await insertSegment(tx, deviceId, chunk);
  const deleted = await tx.query(`DELETE FROM records WHERE ${range} AND ts <= $5::timestamptz`, [...bounds, upto]);
  // The device lock makes this hold; if it ever did not, the transaction is undone rather than rows lost.
  if (deleted.rowCount !== late.length) throw new Error(`merging late rows of ${deviceId} read ${late.length} rows but would delete ${deleted.rowCount}`);
  return late.length;
}

function mergeSorted(a: readonly SegmentLine[], b: readonly SegmentLine[]): SegmentLine[] {
  const out: SegmentLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && lineOrder(a[i]!, b[j]!) <= 0)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/** Segments of at most SEGMENT_BYTES of lines or `maxRecords` records, cut only between two distinct times (segments never share a `@ts`). */
function* cutSegments(lines: readonly SegmentLine[], maxRecords: number): Generator<SegmentLine[]> {
  let chunk: SegmentLine[] = [];
  let bytes = 0;
  for (const line of lines) {
    const full = chunk.length >= maxRecords || bytes + line.line.length + 1 > SEGMENT_BYTES;
    if (full && chunk.length && chunk.at(-1)!.at !== line.at) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(line);
    bytes += line.line.length + 1;
  }
  if (chunk.length) yield chunk;
}

/** Writes lines (already in order) as one segment with its index. */
export async function insertSegment(tx: pg.PoolClient, deviceId: string, lines: readonly SegmentLine[]): Promise<void> {
  // Deflated on the thread pool, as the compactor does: the event loop keeps serving meanwhile.
  const newline = Buffer.from('\n');
  const encoded = await deflateSegment(Buffer.concat(lines.flatMap((l) => [l.line, newline])), lines.length);
  const index = new SegmentIndexBuilder();
  for (const l of lines) index.add(l.at, l.lat, l.lon);
  await tx.query(
    `INSERT INTO record_segments (device_id, first_ts, last_ts, record_count, raw_length, crc32, data, positions)
     VALUES ($1, $2::timestamptz, $3::timestamptz, $4, $5, $6, $7, $8)`,
    [deviceId, microsToIso(lines[0]!.at), microsToIso(lines.at(-1)!.at), encoded.recordCount, encoded.rawLength, encoded.crc32, encoded.data, index.encode()],
  );
}
