import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';

import { invalidInput, notFound } from '../../lib/errors.js';
import { isUuid } from '../../lib/ids.js';
import { type ConnectionShape, decodeCursor, encodeCursor, pageSize, toConnection } from '../../lib/pagination.js';
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

const NEWEST_FIRST = { startTimeUtc: 'desc', id: 'desc' } as const;

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

/** Read side of trips; every query is scoped to the caller's customer. */
export class TripService {
  constructor(private readonly live?: TripPubSub) {}

  /** Starts, ends and reopens of the caller's trips, optionally of one of its devices. */
  updates(em: EntityManager, principal: Principal, deviceId?: string | null): Promise<AsyncIterable<TripUpdatedMessage>> {
    const live = this.live;
    if (!live) throw new Error('TripService was built without a pub/sub');
    return deviceStream(em, principal, deviceId, (customerId) => live.subscribe(TRIP_UPDATED, customerId));
  }

  private async where(em: EntityManager, principal: Principal, filter: TripFilter): Promise<FilterQuery<Trip>> {
    const where: FilterQuery<Trip> & Record<string, unknown> = { customer: principal.customerId };
    const and: FilterQuery<Trip>[] = [];
    if (filter.deviceId !== undefined && filter.deviceId !== null) {
      const device = isUuid(filter.deviceId) ? await em.findOne(Device, { id: filter.deviceId, customer: principal.customerId }) : null;
      if (!device) throw notFound('Device');
      where.device = device.id;
    }
    const { from, to } = timeRange(filter);
    if (from) and.push({ $or: [{ endTimeUtc: null }, { endTimeUtc: { $gte: from } }] });
    if (to) and.push({ startTimeUtc: { $lte: to } });
    if (filter.state) where.state = filter.state;
    return and.length ? { ...where, $and: and } : where;
  }

  /** Newest first, as a cursor connection (GraphQL). */
  async connection(
    em: EntityManager,
    principal: Principal,
    filter: TripFilter,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<ConnectionShape<Trip>> {
    const size = pageSize(first);
    const where = await this.where(em, principal, filter);
    const total = await em.count(Trip, where);
    let page: FilterQuery<Trip> = where;
    if (after) {
      const [start, id] = tripCursor(after);
      page = { $and: [where, { $or: [{ startTimeUtc: { $lt: start } }, { startTimeUtc: start, id: { $lt: id } }] }] };
    }
    const rows = await em.find(Trip, page, { orderBy: NEWEST_FIRST, limit: size + 1 });
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
    const { from, to } = timeRange(filter);
    const conditions: [string, unknown][] = [['t.customer_id = ?', customerId]];
    if (from) conditions.push(['(t.end_time_utc IS NULL OR t.end_time_utc >= ?)', from]);
    if (to) conditions.push(['t.start_time_utc <= ?', to]);
    if (filter.state) conditions.push(['t.state = ?', filter.state]);
    const matching = conditions.map(([sql]) => sql).join(' AND ');
    const values = conditions.map(([, value]) => value);
    const cursor = after ? tripCursor(after) : undefined;
    const connection = em.getConnection();
    const [rows, counts] = await Promise.all([
      connection.execute<(Record<string, unknown> & { device_id: string })[]>(
        `SELECT t.* FROM unnest(array[?]::uuid[]) AS d(id)
           CROSS JOIN LATERAL (
             SELECT * FROM trips t WHERE t.device_id = d.id AND ${matching} ${cursor ? 'AND (t.start_time_utc, t.id) < (?, ?)' : ''}
              ORDER BY t.start_time_utc DESC, t.id DESC LIMIT ?
           ) t`,
        [ids, ...values, ...(cursor ?? []), size + 1],
      ),
      connection.execute<{ device_id: string; total: string }[]>(
        `SELECT t.device_id, count(*) AS total FROM trips t WHERE t.device_id IN (?) AND ${matching} GROUP BY t.device_id`,
        [ids, ...values],
      ),
    ]);
    const totals = new Map(counts.map((row) => [row.device_id, Number(row.total)]));
    const byDevice = new Map<string, Trip[]>(ids.map((id) => [id, []]));
    for (const row of rows) byDevice.get(row.device_id)?.push(em.map(Trip, row));
    return new Map([...byDevice].map(([id, trips]) => [id, toConnection(trips, size, totals.get(id) ?? 0, cursorOf)]));
  }

  /** Newest first, by limit and offset (the legacy REST list). */
  async page(em: EntityManager, principal: Principal, filter: TripFilter, limit: number, offset: number): Promise<{ count: number; rows: TripRow[] }> {
    const where = await this.where(em, principal, filter);
    const [trips, count] = await em.findAndCount(Trip, where, { orderBy: NEWEST_FIRST, limit, offset, populate: ['device'] });
    return { count, rows: trips.map(toRow) };
  }

  async get(em: EntityManager, principal: Principal, id: string): Promise<Trip> {
    const trip = isUuid(id) ? await em.findOne(Trip, { id, customer: principal.customerId }) : null;
    if (!trip) throw notFound('Trip');
    return trip;
  }
}

/** A trip with its device loaded, in the shape the serializer takes. */
function toRow(trip: Trip): TripRow {
  const device = trip.device.getEntity();
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
    deviceId: device.id,
    vehicleId: device.vehicleId,
    unitId: device.unitId,
  };
}
