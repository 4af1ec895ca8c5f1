/**
 * Between a segment and the rows it holds: its index (`positions`, see
 * ../trips/segment-index.ts) built from the rows while they still exist, and its lines given
 * back with their columns, for the compactor's late-data merge and for `expand-segments`.
 */
import { PG_EPOCH_MICROS } from '../../db/binary-copy.js';
import type { Queryable } from '../../lib/domain-events.js';
import { decodeSegmentIndex, encodeSegmentIndex } from '../trips/segment-index.js';
import { decodeSegment, lineStarts } from './segment-codec.js';

const ENTRY = 24;

/**
 * Indexes the device's segments that have none yet, from their rows: called by the compactor
 * between inserting segments and deleting their rows, in its transaction. PostgreSQL packs each
 * segment's `(ts µs, lat, lon)` in the segments' own `(ts, line)` order into one bytea, so no row
 * travels to Node on its own.
 */
export async function indexNewSegments(tx: Queryable, deviceId: string): Promise<void> {
  const { rows } = await tx.query<{ id: string; record_count: number; entries: Buffer }>(
    // timestamptz_send: the binary timestamp as stored, a third cheaper than extracting the epoch as numeric.
    `SELECT s.id, s.record_count, string_agg(timestamptz_send(r.ts)
                             || float8send(coalesce(r.lat, 'NaN')) || float8send(coalesce(r.lon, 'NaN')),
                             ''::bytea ORDER BY r.ts, r.line COLLATE "C") AS entries
       FROM record_segments s JOIN records r ON r.device_id = s.device_id AND r.ts BETWEEN s.first_ts AND s.last_ts
      WHERE s.device_id = $1 AND s.positions IS NULL
      GROUP BY s.id, s.record_count`,
    [deviceId],
  );
  for (const { id, record_count, entries } of rows) {
    const n = entries.length / ENTRY;
    // Rows and lines are the same set under the device lock; anything else must not commit.
    if (n !== record_count) throw new Error(`segment ${id} holds ${record_count} lines but ${n} rows index it`);
    const index = { ts: new BigInt64Array(n), lat: new Float64Array(n), lon: new Float64Array(n) };
    for (let i = 0; i < n; i++) {
      index.ts[i] = entries.readBigInt64BE(i * ENTRY) + PG_EPOCH_MICROS;
      index.lat[i] = entries.readDoubleBE(i * ENTRY + 8);
      index.lon[i] = entries.readDoubleBE(i * ENTRY + 16);
    }
    await tx.query('UPDATE record_segments SET positions = $2 WHERE id = $1', [id, encodeSegmentIndex(index)]);
  }
}

/** One stored line with the columns its row had. */
export interface SegmentLine {
  /** Microseconds since the epoch. */
  readonly at: bigint;
  /** Without its '\n'. */
  readonly line: Buffer;
  readonly lat: number | null;
  readonly lon: number | null;
}

/** A segment's lines, in order, each with its row's columns from the index. */
export function segmentLines(segment: { readonly data: Buffer; readonly positions: Buffer | null }): SegmentLine[] {
  if (!segment.positions) throw new Error('a record segment has no positions index');
  const text = decodeSegment(segment.data);
  const starts = lineStarts(text);
  const index = decodeSegmentIndex(segment.positions);
  if (index.ts.length !== starts.length - 1) throw new Error('a record segment and its index differ in length');
  const lines: SegmentLine[] = [];
  for (let i = 0; i < index.ts.length; i++) {
    const lat = index.lat[i]!;
    lines.push({
      at: index.ts[i]!,
      line: text.subarray(starts[i], starts[i + 1]! - 1),
      lat: Number.isNaN(lat) ? null : lat,
      lon: Number.isNaN(lat) ? null : index.lon[i]!,
    });
  }
  return lines;
}

/** The order of a device's lines everywhere: `(ts, line)`, lines compared as bytes (`COLLATE "C"`). */
export const lineOrder = (a: SegmentLine, b: SegmentLine): number => (a.at < b.at ? -1 : a.at > b.at ? 1 : Buffer.compare(a.line, b.line));
