import type { EntityManager } from '@mikro-orm/postgresql';

import { invalidInput, notFound } from '../../lib/errors.js';
import { isUuid } from '../../lib/ids.js';
import { columnList, Conditions, leanPage, leanQuery, leanRows, leanWithRelated, type RelatedRows, withRelated } from '../../lib/lean.js';
import { filterId, requireOwnedWhenNoneMatched } from '../../lib/ownership.js';
import { type ConnectionShape, decodeCursor, encodeCursor, pageSize, toConnection } from '../../lib/pagination.js';
import { readRows } from '../../lib/prepared-reads.js';
import type { Principal } from '../../lib/principal.js';
import { canonicalIso } from '../../lib/time.js';
import { Device } from '../devices/device.entity.js';
import { deviceStream } from '../devices/device-stream.js';
import { Trip, TripState } from './trip.entity.js';
import type { TripRow } from './trip.serializer.js';
import { TRIP_UPDATED, type TripPubSub, type TripUpdatedMessage } from './trip-topics.js';

export interface TripFilter {
  readonly deviceId?: string | null;
  readonly state?: TripState | null;
  /** Trips that were still going at or after this time. */
  readonly from?: string | null;
  /** Trips that had started at or before this time. */
  readonly to?: string | null;
}

const cursorOf = (trip: Trip): string => encodeCursor([trip.startTimeUtc, trip.id]);

/** The sort key `[start, id]` a trip cursor carries. */
const tripCursor = (after: string): [string, string] =>
  decodeCursor(after, ([time, tripId, ...rest]): [string, string] | undefined => {
    const at = rest.length === 0 && typeof time === 'string' ? canonicalIso(time) : undefined;
    return at && isUuid(tripId) ? [at, tripId] : undefined;
  });

/** The filter's times, canonical; a time that is not ISO-8601 is the client's mistake. */
function timeRange(filter: Pick<TripFilter, 'from' | 'to'>): { from?: string; to?: string } {
  const read = (value: string | null | undefined, name: string): string | undefined => {
    if (!value) return undefined;
    const at = canonicalIso(value);
    if (!at) throw invalidInput(`${name} must be an ISO-8601 time`);
    return at;
  };
  return { from: read(filter.from, 'from'), to: read(filter.to, 'to') };
}

/** Trips newest first (by start, then id): the order of every list of trips, and what picks a device's latest trip. */
export const newestTripsFirst = (trip: string): string => `${trip}.start_time_utc DESC, ${trip}.id DESC`;

/** Read side of trips; every query is scoped to the caller's customer. */
export class TripService {
  constructor(private readonly live?: TripPubSub) {}

  /** Starts, ends and reopens of the caller's trips, optionally of one of its devices. */
  updates(em: EntityManager, principal: Principal, deviceId?: string | null): Promise<AsyncIterable<TripUpdatedMessage>> {
    const live = this.live;
    if (!live) throw new Error('TripService was built without a pub/sub');
    return deviceStream(em, principal, deviceId, (customerId) => live.subscribe(TRIP_UPDATED, customerId));
  }

  /**
   * The caller's trips matching `filter`, as SQL on `trips t` (`?` placeholders). Scoped to the
   * customer, another customer's device finds nothing: its NOT_FOUND is settled once the answer
   * is empty (`requireOwnedWhenNoneMatched`), so a device's page costs no statement more.
   */
  private where(principal: Principal, filter: TripFilter): Conditions {
    const where = new Conditions().and('t.customer_id = ?', principal.customerId);
    if (filter.deviceId !== undefined && filter.deviceId !== null) {
      where.and('t.device_id = ?', filterId(filter.deviceId, 'Device'));
    }
    return matching(where, filter);
  }

  /**
   * Newest first, as a cursor connection (GraphQL): the page and its count in one statement;
   * pages follow each other by keyset, so a trip starting meanwhile is never a duplicate.
   */
  async connection(
    em: EntityManager,
    principal: Principal,
    filter: TripFilter,
    first: number | null | undefined,
    after: string | null | undefined,
    columns?: readonly string[],
    related?: RelatedRows,
  ): Promise<ConnectionShape<Trip>> {
    const size = pageSize(first);
    const where = this.where(principal, filter);
    const cursor = after ? tripCursor(after) : undefined;
    const { rows, total } = await leanPage(em, Trip, {
      from: 'trips t',
      where,
      after: cursor && { sql: 'AND (t.start_time_utc, t.id) < (?, ?)', values: cursor },
      columns: columnList('t', columns),
      orderBy: newestTripsFirst('t'),
      limit: size + 1,
      related,
    });
    if (filter.deviceId) await requireOwnedWhenNoneMatched(em, Device, principal, filter.deviceId, 'Device', total);
    return toConnection(rows, size, total, cursorOf);
  }

  /**
   * The trips of many devices at once, each its own connection (newest first): one query for
   * the pages (each device's newest `first + 1` through the (device, start) index) and one for
   * the counts, however many devices the page of devices holds.
   */
  async connectionsOfDevices(
    em: EntityManager,
    customerId: string,
    deviceIds: readonly string[],
    filter: Omit<TripFilter, 'deviceId'>,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<Map<string, ConnectionShape<Trip>>> {
    const size = pageSize(first);
    const ids = deviceIds.filter(isUuid);
    if (!ids.length) return new Map();
    const where = matching(new Conditions().and('t.customer_id = ?', customerId), filter);
    const cursor = after ? tripCursor(after) : undefined;
    // Per device, its count and its page, each through the (device, start) index.
    const rows = await readRows<Record<string, unknown> & { device: string; total: string }>(
      em,
      `SELECT d.id AS device, c.total, t.* FROM unnest(?::uuid[]) AS d(id)
         CROSS JOIN LATERAL (SELECT count(*) AS total FROM trips t WHERE t.device_id = d.id AND ${where.sql}) c
         LEFT JOIN LATERAL (
           SELECT * FROM trips t WHERE t.device_id = d.id AND ${where.sql} ${cursor ? 'AND (t.start_time_utc, t.id) < (?, ?)' : ''}
            ORDER BY ${newestTripsFirst('t')} LIMIT ?
         ) t ON true`,
      [ids, ...where.values, ...where.values, ...(cursor ?? []), size + 1],
    );
    const totals = new Map(rows.map((row) => [row.device, Number(row.total)]));
    const byDevice = new Map<string, Trip[]>(ids.map((id) => [id, []]));
    // A device without trips is one row of its count alone.
    const trips = leanRows(
      em,
      Trip,
      rows.filter((row) => row.id != null),
    );
    for (const trip of trips) byDevice.get(trip.device.id)?.push(trip);
    return new Map([...byDevice].map(([id, page]) => [id, toConnection(page, size, totals.get(id) ?? 0, cursorOf)]));
  }

  /** Each device's trip that started last (none for a device without trips), in one statement. */
  async latestOfDevices(em: EntityManager, customerId: string, deviceIds: readonly string[], columns?: readonly string[], related?: RelatedRows): Promise<Map<string, Trip>> {
    const ids = deviceIds.filter(isUuid);
    if (!ids.length) return new Map();
    const select = withRelated('t', columnList('t', columns), related);
    const rows = await readRows(
      em,
      `SELECT ${select.columns} FROM unnest(?::uuid[]) AS d(id)
         CROSS JOIN LATERAL (
           SELECT * FROM trips t WHERE t.device_id = d.id AND t.customer_id = ? ORDER BY ${newestTripsFirst('t')} LIMIT 1
         ) t ${select.join}`,
      [ids, customerId],
    );
    return new Map(leanWithRelated(em, Trip, rows, related).map((trip) => [trip.device.id, trip]));
  }

  /** Newest first, by limit and offset (the legacy REST list), each trip with its device's ids. */
  async page(em: EntityManager, principal: Principal, filter: TripFilter, limit: number, offset: number): Promise<{ count: number; rows: TripRow[] }> {
    const where = this.where(principal, filter);
    const { rows, raw, total } = await leanPage(em, Trip, {
      from: 'trips t',
      where,
      join: 'JOIN devices d ON d.id = t.device_id',
      columns: 't.*, d.vehicle_id, d.unit_id',
      orderBy: newestTripsFirst('t'),
      limit,
      offset,
    });
    if (filter.deviceId) await requireOwnedWhenNoneMatched(em, Device, principal, filter.deviceId, 'Device', total);
    return { count: total, rows: rows.map((trip, i) => toRow(trip, raw[i] as { vehicle_id: number; unit_id: string })) };
  }

  async get(em: EntityManager, principal: Principal, id: string): Promise<Trip> {
    const [trip] = isUuid(id) ? await leanQuery(em, Trip, 'SELECT * FROM trips WHERE id = ? AND customer_id = ?', [id, principal.customerId]) : [];
    if (!trip) throw notFound('Trip');
    return trip;
  }
}

/** The filter's state and time range, added to `where`. */
function matching(where: Conditions, filter: Omit<TripFilter, 'deviceId'>): Conditions {
  const { from, to } = timeRange(filter);
  if (from) where.and('(t.end_time_utc IS NULL OR t.end_time_utc >= ?)', from);
  if (to) where.and('t.start_time_utc <= ?', to);
  if (filter.state) where.and('t.state = ?', filter.state);
  return where;
}

/** A trip and its device's ids, in the shape the serializer takes. */
function toRow(trip: Trip, device: { vehicle_id: number; unit_id: string }): TripRow {
  return {
    id: trip.id,
    startTimeUtc: trip.startTimeUtc,
    endTimeUtc: trip.endTimeUtc,
    state: trip.state,
    startLat: trip.startLat,
    startLng: trip.startLng,
    endLat: trip.endLat,
    endLng: trip.endLng,
    distanceKm: trip.distanceKm,
    deviceId: trip.device.id,
    vehicleId: device.vehicle_id,
    unitId: device.unit_id,
  };
}
