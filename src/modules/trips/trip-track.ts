import { IsolationLevel } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Field, Float, Int, ObjectType } from 'type-graphql';

import { invalidInput } from '../../lib/errors.js';
import { canonicalIso } from '../../lib/time.js';
import { positionRowsSql, tripSegmentPositions, type TripSegmentsRow, tripSegmentsSql } from './compacted-positions.js';

export const TRACK_MAX_POINTS = 2000;

/**
 * What a track costs in the query-cost limit: a scan of the trip's positions (however few
 * points come back) plus the points. A page of 50 trips each with a 1,000-point track is
 * over the default limit; a single track of 2,000 points is far under it.
 */
export const trackCost = (maxPoints: unknown): number => 50 + Math.ceil((typeof maxPoints === 'number' ? maxPoints : 1000) / 20);

@ObjectType({ description: 'One position of a track.' })
export class TrackPoint {
  @Field(() => String)
  ts!: string;

  @Field(() => Float)
  lat!: number;

  @Field(() => Float)
  lon!: number;
}

@ObjectType({
  description:
    "A trip's track.pos positions in time order, thinned on the server: every `every`-th position, counted from the first, and always the last; all of them when they fit.",
})
export class TripTrack {
  @Field(() => Int, { description: 'Positions the trip has (before thinning).' })
  positionCount!: number;

  @Field(() => Int, { description: 'The stride: 1 when every position is returned.' })
  every!: number;

  @Field(() => [TrackPoint])
  points!: TrackPoint[];
}

/**
 * The track decimated in PostgreSQL: the count first, then one ordered pass over the
 * positions index numbering the rows and keeping every n-th, so a million-position trip
 * sends at most `maxPoints` rows to Node and none is held as an object meanwhile.
 */
export async function tripTrack(em: EntityManager, trip: { readonly id: string }, maxPoints: number): Promise<TripTrack> {
  if (!Number.isInteger(maxPoints) || maxPoints < 2 || maxPoints > TRACK_MAX_POINTS) throw invalidInput(`maxPoints must be between 2 and ${TRACK_MAX_POINTS}`);
  // The segments and the rows are read in one snapshot: a compaction moving rows into a segment
  // in between would otherwise hide them from both reads.
  const rows = await em.transactional(
    async (tx) => {
      const [range] = await tx.execute<TripSegmentsRow[]>(tripSegmentsSql('?'), [trip.id]);
      if (!range) return [];
      // The segments' positions are decoded here; the thinning still happens in PostgreSQL over both.
      const segments = tripSegmentPositions(range);
      const positions = `FROM ${positionRowsSql(
        `records r, trips t WHERE t.id = ? AND r.device_id = t.device_id AND r.lat IS NOT NULL
           AND r.ts >= t.start_time_utc AND (t.end_time_utc IS NULL OR r.ts <= t.end_time_utc)`,
        { ts: '?', lat: '?', lon: '?' },
      )} r`;
      const bound = [trip.id, segments.ts, segments.lat, segments.lon];
      // Every `every`-th from index 0 is at most maxPoints - 1 rows; the last one makes maxPoints.
      return tx.execute<{ ts: string; lat: number; lon: number; n: string; every: string }[]>(
        `WITH total AS (SELECT count(*) AS n ${positions}),
              stride AS (SELECT n, CASE WHEN n <= ? THEN 1 ELSE ceil(n::numeric / (? - 1))::bigint END AS every FROM total)
         SELECT p.ts::text AS ts, p.lat, p.lon, stride.n, stride.every
           FROM stride, (SELECT r.ts, r.lat, r.lon, row_number() OVER (ORDER BY r.ts) - 1 AS i ${positions}) p
          WHERE p.i % stride.every = 0 OR p.i = stride.n - 1
          ORDER BY p.ts`,
        [...bound, maxPoints, maxPoints, ...bound],
      );
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
  );
  const positionCount = rows.length ? Number(rows[0]!.n) : 0;
  const every = rows.length ? Number(rows[0]!.every) : 1;
  return { positionCount, every, points: rows.map((row) => ({ ts: canonicalIso(row.ts) ?? row.ts, lat: row.lat, lon: row.lon })) };
}
