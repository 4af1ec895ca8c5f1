import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';

import { invalidInput, notFound } from '../../lib/errors.js';
import { isUuid } from '../../lib/ids.js';
import { type ConnectionShape, decodeCursor, encodeCursor, pageSize, toConnection } from '../../lib/pagination.js';
import type { Principal } from '../../lib/principal.js';
import { canonicalIso } from '../../lib/time.js';
import { Device } from '../devices/device.entity.js';
import { deviceStream } from '../devices/device-stream.js';
import { Trip } from './trip.entity.js';
import type { TripRow } from './trip.serializer.js';
import { TRIP_UPDATED, type TripPubSub, type TripUpdatedMessage } from './trip-topics.js';

export interface TripFilter {
  readonly deviceId?: string | null;
  /** Trips that were still going at or after this time. */
  readonly from?: string | null;
  /** Trips that had started at or before this time. */
  readonly to?: string | null;
}

const NEWEST_FIRST = { startTimeUtc: 'desc', id: 'desc' } as const;

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
    if (filter.from) {
      const from = canonicalIso(filter.from);
      if (!from) throw invalidInput('from must be an ISO-8601 time');
      and.push({ $or: [{ endTimeUtc: null }, { endTimeUtc: { $gte: from } }] });
    }
    if (filter.to) {
      const to = canonicalIso(filter.to);
      if (!to) throw invalidInput('to must be an ISO-8601 time');
      and.push({ startTimeUtc: { $lte: to } });
    }
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
      const [start, id] = decodeCursor(after, ([time, tripId, ...rest]): [string, string] | undefined => {
        const at = rest.length === 0 && typeof time === 'string' ? canonicalIso(time) : undefined;
        return at && isUuid(tripId) ? [at, tripId] : undefined;
      });
      page = { $and: [where, { $or: [{ startTimeUtc: { $lt: start } }, { startTimeUtc: start, id: { $lt: id } }] }] };
    }
    const rows = await em.find(Trip, page, { orderBy: NEWEST_FIRST, limit: size + 1 });
    return toConnection(rows, size, total, (t) => encodeCursor([t.startTimeUtc, t.id]));
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
