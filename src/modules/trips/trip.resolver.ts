import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Int, Query, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, loadOwned, principalOf } from '../../graphql/context.js';
import { PREFETCH, prefetchConnection } from '../../graphql/prefetch.js';
import { ownedRow, type Related, related, relatedRowsAt } from '../../graphql/related.js';
import type { MaybePromise } from '../../graphql/request-cache.js';
import { loaderOf, reads, selectedColumns } from '../../graphql/selection.js';
import { type ConnectionShape, connectionType } from '../../lib/pagination.js';
import { Device } from '../devices/device.entity.js';
import { Trip, TripState } from './trip.entity.js';
import { tripDuration } from './trip.serializer.js';
import { newestTripsFirst, type TripService } from './trip.service.js';
import type { TripUpdatedMessage } from './trip-topics.js';
import { trackCost, TripTrack, tripTrack } from './trip-track.js';
import { type TripChange, TripUpdatedEvent } from './trip-updated.types.js';

const TripConnection = connectionType(Trip, 'Trip');

const FROM = { nullable: true, description: 'Only trips still going at or after this ISO time.' } as const;
const TO = { nullable: true, description: 'Only trips started at or before this ISO time.' } as const;

/** A trip's device, read with a page of trips. */
const DEVICE_OF_TRIP = ownedRow(Device, 'devices', 'device_id');

/** A device's trip that started last, read with its device's row. */
const LATEST_TRIP: Related = {
  entity: Trip,
  table: 'trips',
  on: (trip, device) => `${trip}.device_id = ${device}.id AND ${trip}.customer_id = ${device}.customer_id`,
  orderBy: newestTripsFirst,
  parentKey: 'id',
  loader: 'latestTrip',
};

@Resolver(() => Trip)
export class TripResolver {
  constructor(private readonly tripService: TripService) {}

  @Authorized()
  @Query(() => TripConnection, { description: 'Trips of the customer (or of one device), newest first.' })
  async trips(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('deviceId', () => ID, { nullable: true }) deviceId?: string,
    @Arg('from', () => String, FROM) from?: string,
    @Arg('to', () => String, TO) to?: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('state', () => TripState, { nullable: true }) state?: TripState,
  ): Promise<ConnectionShape<Trip>> {
    // The page reads the columns its selection shows, and its sort key for the cursors.
    const columns = selectedColumns(ctx.em, Trip, info, ['edges', 'node'], ['startTimeUtc']);
    const related = relatedRowsAt(ctx, info, ['edges', 'node']);
    const page = await this.tripService.connection(ctx.em, principalOf(ctx), { deviceId, from, to, state }, first, after, columns, related);
    return prefetchConnection(ctx, info, page, related);
  }

  @Authorized()
  @Query(() => Trip, { description: 'One trip; NOT_FOUND for an unknown id or one of another customer.' })
  trip(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<Trip> {
    return this.tripService.get(ctx.em, principalOf(ctx), id);
  }

  @Extensions({ ...PREFETCH, ...reads(), ...related(DEVICE_OF_TRIP) })
  @FieldResolver(() => Device)
  device(@Root() trip: Trip, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): MaybePromise<Device> {
    return loadOwned(ctx, Device, trip.customer.id, trip.device.id, selectedColumns(ctx.em, Device, info));
  }

  @Extensions(reads('startTimeUtc', 'endTimeUtc'))
  @FieldResolver(() => String, { description: '"HH:MM:SS"; a trip in progress counts up to now.' })
  duration(@Root() trip: Trip): string {
    return tripDuration(trip.startTimeUtc, trip.endTimeUtc);
  }

  @FieldResolver(() => TripTrack, {
    description: 'The positions to draw the trip with, at most maxPoints (2 to 2000) of them.',
    complexity: ({ args }) => trackCost(args.maxPoints),
  })
  track(@Root() trip: Trip, @Ctx() ctx: GraphQLContext, @Arg('maxPoints', () => Int, { defaultValue: 1000 }) maxPoints: number): Promise<TripTrack> {
    return tripTrack(ctx.em, trip, maxPoints);
  }
}

/** A device's trips; in this feature because devices come before trips. */
@Resolver(() => Device)
export class DeviceTripsResolver {
  constructor(private readonly tripService: TripService) {}

  @Extensions(reads())
  @FieldResolver(() => TripConnection, { description: "The device's trips, newest first (loaded for a whole page of devices at once)." })
  trips(
    @Root() device: Device,
    @Ctx() ctx: GraphQLContext,
    @Arg('from', () => String, FROM) from?: string,
    @Arg('to', () => String, TO) to?: string,
    @Arg('state', () => TripState, { nullable: true }) state?: TripState,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): MaybePromise<ConnectionShape<Trip>> {
    const customerId = device.customer.id;
    // The loader's name holds every argument: aliases with other arguments get their own batch.
    const name = `deviceTrips:${customerId}:${JSON.stringify([from, to, state, first, after])}`;
    return ctx.cache.load(name, device.id, (ids: readonly string[]) =>
      this.tripService.connectionsOfDevices(ctx.em, customerId, ids, { from, to, state }, first, after),
    ) as MaybePromise<ConnectionShape<Trip>>;
  }

  @Extensions({ ...PREFETCH, ...reads(), ...related(LATEST_TRIP) })
  @FieldResolver(() => Trip, { nullable: true, description: 'The trip that started last; null before the first.' })
  latestTrip(@Root() device: Device, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): MaybePromise<Trip | null> {
    const customerId = device.customer.id;
    const columns = selectedColumns(ctx.em, Trip, info);
    return ctx.cache.load(loaderOf(LATEST_TRIP.loader, customerId, columns), device.id, (ids: readonly string[]) =>
      this.tripService.latestOfDevices(ctx.em, customerId, ids, columns, relatedRowsAt(ctx, info, [])),
    );
  }
}

@Resolver(() => TripUpdatedEvent)
export class TripUpdatedResolver {
  constructor(private readonly tripService: TripService) {}

  @Authorized()
  @Subscription(() => TripUpdatedEvent, {
    description: "Trips of the caller's customer (optionally of one device) starting, ending and reopening, as uploads commit them.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { deviceId?: string | null }, GraphQLContext>) =>
      context.resolvers.get(TripUpdatedResolver).tripService.updates(context.em, principalOf(context), args.deviceId),
  })
  tripUpdated(@Root() message: TripUpdatedMessage, @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string): TripUpdatedEvent {
    return { ...message, change: message.change as TripChange };
  }
}
