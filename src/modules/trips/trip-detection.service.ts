import { randomUUID } from 'node:crypto';

import type { DomainEvents, Queryable } from '../../lib/domain-events.js';
import { microsToIso, nowIso } from '../../lib/time.js';
import { recordNewestEvent } from '../devices/device-state.js';
import type { TripSettings } from '../devices/trip-settings.js';
import { lastSegmentTimeBefore, positionRowsSql, tripSegmentPositions, type TripSegmentsRow, tripSegmentsSql } from './compacted-positions.js';
import { applyTripEvents, compileTags, type TripEventInput, type TripState } from './trip-rules.js';
import { TRIP_UPDATED, type TripPubSub } from './trip-topics.js';

const EPOCH_MICROS = (column: string): string => `(extract(epoch from ${column}) * 1000000)::bigint`;

/** The device being ingested for, as locked inside the ingest transaction. */
export interface LockedDevice {
  readonly id: string;
  readonly customerId: string;
  readonly settings: TripSettings;
  /** `@ts` of the newest event already applied, in microseconds. */
  readonly lastEventAt: bigint | null;
}

/** The trusted time span of the batch being stored, in microseconds. */
export interface BatchRange {
  readonly from: bigint;
  readonly to: bigint;
  readonly hasPositions: boolean;
  /** Whether the batch has a record at a time within `[from, to]` (asked only of late batches). */
  readonly covers: (from: bigint, to: bigint) => boolean;
}

export interface DetectionResult {
  readonly started: number;
  readonly ended: number;
  readonly reopened: number;
  /** Callbacks the trip_end handlers asked to run after the commit. */
  readonly afterCommit: (() => void)[];
}

/**
 * The stored side of trip detection: loads the device's latest trip, runs the pure rules,
 * writes the result, refreshes positions and distance, and raises `trip_end` in the same
 * transaction. The caller holds the device row lock, so batches of one device never interleave.
 */
export class TripDetectionService {
  constructor(
    private readonly events: DomainEvents,
    /** Where `tripUpdated` subscribers hear of starts, ends and reopens. */
    private readonly live?: TripPubSub,
  ) {}

  async detect(tx: Queryable, device: LockedDevice, events: readonly TripEventInput[], batchRange: BatchRange): Promise<DetectionResult> {
    // Events older than the newest one applied are stored but no longer change trips.
    const applicable = events.filter((e) => device.lastEventAt === null || e.at >= device.lastEventAt).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const latest = applicable.length ? await this.latestTrip(tx, device.id) : null;
    const changes = applicable.length
      ? await applyTripEvents(latest, applicable, {
          settings: device.settings,
          tags: compileTags(device.settings),
          newKey: randomUUID,
          lastDataBefore: (from, at) => this.lastDataBefore(tx, device.id, from, at),
        })
      : { touched: [], ends: [], started: [], reopened: [], log: [] };

    for (const trip of changes.touched) await this.save(tx, device, trip);
    if (applicable.length) {
      const newest = applicable[applicable.length - 1]!.at;
      await recordNewestEvent(tx, device.id, microsToIso(newest));
    }

    // Positions and distance are a scan over the trip's track.pos records. Redoing that for an
    // open trip on every batch made long trips quadratic (measured: the upload benchmark's
    // bound), so an open trip gets them when it ends; ended trips are refreshed when touched or
    // when late positions arrive inside them.
    const refresh = new Set(changes.touched.filter((t) => t.endAt !== null || t.isNew).map((t) => t.key));
    const late = await this.endedTripsReceiving(tx, device, batchRange);
    if (batchRange.hasPositions) for (const id of late) refresh.add(id);
    for (const id of refresh) await this.refreshStats(tx, id);

    const afterCommit: (() => void)[] = [];
    // Trips this batch ended are exported for their end; the others received late data.
    const endedNow = new Set(changes.ends.map((e) => e.trip.key));
    const changed = late.filter((id) => !endedNow.has(id));
    if (changed.length) afterCommit.push(...(await this.events.emitTripsChanged(tx, { deviceId: device.id, customerId: device.customerId, tripIds: changed })));
    if (this.live && changes.log.length > 0) {
      const live = this.live;
      const messages = changes.log.map((c) => ({
        tripId: c.key,
        customerId: device.customerId,
        deviceId: device.id,
        change: c.change,
        startTimeUtc: microsToIso(c.startAt),
        endTimeUtc: c.endAt === null ? null : microsToIso(c.endAt),
      }));
      // Published in the order the events caused them, after the commit (the caller runs these callbacks).
      afterCommit.push(() => {
        const occurredAt = nowIso();
        for (const message of messages) live.publish(TRIP_UPDATED, device.customerId, { ...message, occurredAt });
      });
    }
    for (const { trip, endCount } of changes.ends) {
      afterCommit.push(
        ...(await this.events.emitTripEnd(tx, {
          tripId: trip.key,
          deviceId: device.id,
          customerId: device.customerId,
          endTimeUtc: microsToIso(trip.endAt!),
          endCount,
        })),
      );
    }
    return { started: changes.started.length, ended: changes.ends.length, reopened: changes.reopened.length, afterCommit };
  }

  /**
   * Ended trips (as stored now) that the batch has records in. A trip ends at an applied event,
   * so no ended trip reaches past the device's newest one: a batch that starts after it (every
   * batch of a trip in progress, and every batch of a device uploading in order) cannot fall
   * inside one, and costs no query.
   */
  private async endedTripsReceiving(tx: Queryable, device: LockedDevice, batch: BatchRange): Promise<string[]> {
    if (device.lastEventAt === null || batch.from > device.lastEventAt) return [];
    // A device's trips do not overlap: those in the span start inside it, or are the last one
    // to start before it. Two short ranges of the (device, start) index, however many trips the
    // device has had (a plain "start <= to" read them all).
    const { rows } = await tx.query<{ id: string; start_at: string; end_at: string }>(
      `SELECT id, ${EPOCH_MICROS('start_time_utc')} AS start_at, ${EPOCH_MICROS('end_time_utc')} AS end_at
         FROM trips
        WHERE device_id = $1 AND end_time_utc IS NOT NULL AND end_time_utc >= $2 AND start_time_utc <= $3
          AND start_time_utc >= coalesce((SELECT max(start_time_utc) FROM trips WHERE device_id = $1 AND start_time_utc <= $2), '-infinity')`,
      [device.id, microsToIso(batch.from), microsToIso(batch.to)],
    );
    // The span may straddle a trip without a record inside it (records before and after it).
    return rows.filter((row) => batch.covers(BigInt(row.start_at), BigInt(row.end_at))).map((row) => row.id);
  }

  private async latestTrip(tx: Queryable, deviceId: string): Promise<TripState | null> {
    const { rows } = await tx.query<{ id: string; start_at: string; end_at: string | null; final_end: boolean; end_count: number }>(
      `SELECT id, ${EPOCH_MICROS('start_time_utc')} AS start_at, ${EPOCH_MICROS('end_time_utc')} AS end_at, final_end, end_count
         FROM trips WHERE device_id = $1 ORDER BY start_time_utc DESC LIMIT 1`,
      [deviceId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      key: row.id,
      startAt: BigInt(row.start_at),
      endAt: row.end_at === null ? null : BigInt(row.end_at),
      finalEnd: row.final_end,
      endCount: row.end_count,
      isNew: false,
    };
  }

  /** Rows and compressed segments both hold the device's data; the newer of the two answers. */
  private async lastDataBefore(tx: Queryable, deviceId: string, from: bigint, at: bigint): Promise<bigint | undefined> {
    const { rows } = await tx.query<{ last: string | null }>(`SELECT ${EPOCH_MICROS('max(ts)')} AS last FROM records WHERE device_id = $1 AND ts >= $2 AND ts < $3`, [
      deviceId,
      microsToIso(from),
      microsToIso(at),
    ]);
    const row = rows[0]?.last ? BigInt(rows[0].last) : undefined;
    const segment = await lastSegmentTimeBefore(tx, deviceId, from, at);
    return row === undefined || (segment !== undefined && segment > row) ? segment : row;
  }

  private async save(tx: Queryable, device: LockedDevice, trip: TripState): Promise<void> {
    const values = [
      trip.key,
      microsToIso(trip.startAt),
      trip.endAt === null ? null : microsToIso(trip.endAt),
      trip.endAt === null ? 'in_progress' : 'completed',
      trip.finalEnd,
      trip.endCount,
    ];
    if (trip.isNew) {
      await tx.query(
        `INSERT INTO trips (id, customer_id, device_id, start_time_utc, end_time_utc, state, final_end, end_count, distance_km)
         VALUES ($1, $7, $8, $2, $3, $4, $5, $6, 0)`,
        [...values, device.customerId, device.id],
      );
    } else {
      await tx.query(`UPDATE trips SET start_time_utc = $2, end_time_utc = $3, state = $4, final_end = $5, end_count = $6 WHERE id = $1`, values);
    }
  }

  /**
   * Start and end positions and distance, from the trip's `track.pos` records: its rows and the
   * positions of the compressed segments overlapping it, in one SQL formula.
   */
  private async refreshStats(tx: Queryable, tripId: string): Promise<void> {
    const { rows } = await tx.query<TripSegmentsRow>(tripSegmentsSql('$1'), [tripId]);
    if (!rows[0]) return;
    const segments = tripSegmentPositions(rows[0]);
    const positions = positionRowsSql(
      `records r, t WHERE r.device_id = t.device_id AND r.lat IS NOT NULL
         AND r.ts >= t.start_time_utc AND (t.end_time_utc IS NULL OR r.ts <= t.end_time_utc)`,
      { ts: '$2', lat: '$3', lon: '$4' },
    );
    await tx.query(
      `WITH t AS (SELECT * FROM trips WHERE id = $1),
       pos AS (
         SELECT p.ts, p.lat, p.lon,
                lag(p.lat) OVER w AS plat, lag(p.lon) OVER w AS plon,
                row_number() OVER w AS n, count(*) OVER () AS total
           FROM ${positions} p
         WINDOW w AS (ORDER BY p.ts)
       ),
       stats AS (
         SELECT max(lat) FILTER (WHERE n = 1) AS start_lat, max(lon) FILTER (WHERE n = 1) AS start_lng,
                max(lat) FILTER (WHERE n = total) AS end_lat, max(lon) FILTER (WHERE n = total) AS end_lng,
                coalesce(sum(2 * 6371.0088 * asin(sqrt(
                  power(sin(radians(lat - plat) / 2), 2) +
                  cos(radians(plat)) * cos(radians(lat)) * power(sin(radians(lon - plon) / 2), 2)
                ))) FILTER (WHERE plat IS NOT NULL), 0) AS distance
           FROM pos
       )
       UPDATE trips SET start_lat = stats.start_lat, start_lng = stats.start_lng,
              end_lat = CASE WHEN trips.state = 'completed' THEN stats.end_lat END,
              end_lng = CASE WHEN trips.state = 'completed' THEN stats.end_lng END,
              distance_km = stats.distance
         FROM stats WHERE trips.id = $1`,
      [tripId, segments.ts, segments.lat, segments.lon],
    );
  }
}
