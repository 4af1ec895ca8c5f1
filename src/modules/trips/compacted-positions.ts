import type { Queryable } from '../../lib/domain-events.js';
import { microsToIso } from '../../lib/time.js';
import { decodeSegmentIndex, type SegmentIndex } from './segment-index.js';

/**
 * Positions of a device's compressed record segments, for the SQL that used to read them from
 * `records` alone: only segments overlapping the time range are read, their indexes decoded here
 * and handed to PostgreSQL as three arrays that the query unions with the rows
 * ({@link positionRowsSql}). So distance, start/end and track thinning stay one SQL formula
 * whether a stretch is rows, segments or both (late rows not yet merged into their segment).
 */
export interface SegmentPositions {
  /** PostgreSQL array literals: µs since the epoch, lat, lon; parameters of {@link positionRowsSql}. */
  readonly ts: string;
  readonly lat: string;
  readonly lon: string;
}

/** Time bounds in µs since the epoch; `to` null is open-ended (a trip in progress). */
export interface MicrosRange {
  readonly from: bigint;
  readonly to: bigint | null;
}

/** A trip's bounds and the position indexes of the segments overlapping it (see {@link tripSegmentsSql}). */
export interface TripSegmentsRow {
  readonly from_us: string;
  readonly to_us: string | null;
  readonly segments: (Buffer | null)[];
}

/**
 * The start of the device's last segment starting at or before `at`: segments never overlap, so
 * none starting earlier reaches `at`. Bounds the scan of the (device, first_ts) index to the
 * range asked for, however many segments the device has.
 */
const LAST_STARTING = (device: string, at: string): string =>
  `coalesce((SELECT max(p.first_ts) FROM record_segments p WHERE p.device_id = ${device} AND p.first_ts <= ${at}), '-infinity')`;

/**
 * One statement (the placeholder `tripParam` is the trip id, in the caller's driver's syntax):
 * the trip's bounds and the indexes of its device's segments that overlap it, oldest first.
 */
export const tripSegmentsSql = (tripParam: string): string =>
  `SELECT (extract(epoch from t.start_time_utc) * 1000000)::bigint::text AS from_us,
          (extract(epoch from t.end_time_utc) * 1000000)::bigint::text AS to_us,
          array(SELECT s.positions FROM record_segments s
                 WHERE s.device_id = t.device_id AND s.last_ts >= t.start_time_utc
                   AND (t.end_time_utc IS NULL OR s.first_ts <= t.end_time_utc)
                   AND s.first_ts >= ${LAST_STARTING('t.device_id', 't.start_time_utc')}
                 ORDER BY s.first_ts) AS segments
     FROM trips t WHERE t.id = ${tripParam}`;

/** The trip's positions held by segments, from a {@link tripSegmentsSql} row. */
export function tripSegmentPositions(row: TripSegmentsRow): SegmentPositions {
  const range: MicrosRange = { from: BigInt(row.from_us), to: row.to_us === null ? null : BigInt(row.to_us) };
  const indexes = row.segments.map((data) => {
    if (!data) throw new Error('a record segment has no positions index');
    return decodeSegmentIndex(data);
  });
  return positionsIn(indexes, range);
}

/** The `track.pos` positions in `range` held by segments, as arrays for {@link positionRowsSql}. */
function positionsIn(indexes: readonly SegmentIndex[], range: MicrosRange): SegmentPositions {
  const ts: string[] = [];
  const lat: number[] = [];
  const lon: number[] = [];
  for (const index of indexes) {
    for (let i = 0; i < index.ts.length; i++) {
      const at = index.ts[i]!;
      if (at < range.from || (range.to !== null && at > range.to) || Number.isNaN(index.lat[i]!)) continue;
      ts.push(String(at));
      lat.push(index.lat[i]!);
      lon.push(index.lon[i]!);
    }
  }
  // String(number) is the shortest text that reads back as the same double.
  return { ts: `{${ts.join(',')}}`, lat: `{${lat.join(',')}}`, lon: `{${lon.join(',')}}` };
}

/**
 * `(ts, lat, lon)` of a device's positions within a range: its rows with a position, and the
 * segment positions passed as three array parameters (placeholders `ts`, `lat`, `lon`). `rows`
 * is the WHERE clause on `records r` already restricted to the device, range and `lat IS NOT NULL`.
 */
export const positionRowsSql = (rows: string, arrays: { ts: string; lat: string; lon: string }): string =>
  `(SELECT r.ts, r.lat, r.lon FROM ${rows}
    UNION ALL
    SELECT timestamptz 'epoch' + s.us * interval '1 microsecond', s.lat, s.lon
      FROM unnest(${arrays.ts}::bigint[], ${arrays.lat}::float8[], ${arrays.lon}::float8[]) AS s(us, lat, lon))`;

/** Newest record time in `[from, at)` held by the device's segments, in µs; undefined when none. */
export async function lastSegmentTimeBefore(db: Queryable, deviceId: string, from: bigint, at: bigint): Promise<bigint | undefined> {
  // Segments never overlap: those ending before `at` answer with their last time, and only the
  // one that contains `at` (if any) has its times decoded.
  const { rows } = await db.query<{ ended: string | null; containing: Buffer | null }>(
    `SELECT (SELECT (extract(epoch from max(last_ts)) * 1000000)::bigint::text FROM record_segments
              WHERE device_id = $1 AND last_ts >= $2::timestamptz AND last_ts < $3::timestamptz
                AND first_ts < $3::timestamptz AND first_ts >= ${LAST_STARTING('$1', '$2::timestamptz')}) AS ended,
            (SELECT positions FROM record_segments
              WHERE device_id = $1 AND first_ts < $3::timestamptz AND last_ts >= $3::timestamptz
              ORDER BY first_ts DESC LIMIT 1) AS containing`,
    [deviceId, microsToIso(from), microsToIso(at)],
  );
  const row = rows[0]!;
  let last = row.ended === null ? undefined : BigInt(row.ended);
  if (row.containing) {
    const { ts } = decodeSegmentIndex(row.containing);
    for (let i = ts.length - 1; i >= 0; i--) {
      if (ts[i]! >= at) continue;
      if (ts[i]! >= from && (last === undefined || ts[i]! > last)) last = ts[i]!;
      break;
    }
  }
  return last;
}
