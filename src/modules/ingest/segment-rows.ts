/**
 * Between a segment and the rows it holds: its index (`positions`, see
 * ../trips/segment-index.ts) built from the rows' columns as the compactor reads them, and its lines given
 * back with their columns, for the compactor's late-data merge and for `expand-segments`.
 */
import { PG_EPOCH_MICROS } from '../../db/binary-copy.js';
import { decodeSegmentIndex, type SegmentIndex } from '../trips/segment-index.js';
import { decodeSegment, lineStarts } from './segment-codec.js';

/**
 * A row's `ts`, `lat` and `lon` as PostgreSQL sends them in binary (big-endian int64 µs since
 * 2000-01-01, float8, float8; NaN for no position): {@link ROW_COLUMNS_SQL} puts them before
 * each line the compactor reads, so its segments' index needs no second pass over the rows.
 */
export const ROW_COLUMNS_BYTES = 24;
// timestamptz_send: the binary timestamp as stored, a third cheaper than extracting the epoch as numeric.
export const ROW_COLUMNS_SQL = `timestamptz_send(ts) || float8send(coalesce(lat, 'NaN')) || float8send(coalesce(lon, 'NaN'))`;

/** The `ts` of one {@link ROW_COLUMNS_SQL} entry at `offset`, in µs since the Unix epoch. */
export const rowMicros = (entries: Buffer, offset: number): bigint => entries.readBigInt64BE(offset) + PG_EPOCH_MICROS;

/** A segment's index from its rows' {@link ROW_COLUMNS_SQL} entries, in line order. */
export function indexOfRowColumns(entries: Buffer): SegmentIndex {
  const n = entries.length / ROW_COLUMNS_BYTES;
  const index = { ts: new BigInt64Array(n), lat: new Float64Array(n), lon: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const at = i * ROW_COLUMNS_BYTES;
    index.ts[i] = rowMicros(entries, at);
    index.lat[i] = entries.readDoubleBE(at + 8);
    index.lon[i] = entries.readDoubleBE(at + 16);
  }
  return index;
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
