import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, loadOwned, principalOf } from '../../graphql/context.js';
import { type ConnectionShape, connectionType } from '../../lib/pagination.js';
import { Device } from '../devices/device.entity.js';
import { Trip } from './trip.entity.js';
import { tripDuration } from './trip.serializer.js';
import type { TripService } from './trip.service.js';
import type { TripUpdatedMessage } from './trip-topics.js';
import { type TripChange, TripUpdatedEvent } from './trip-updated.types.js';

const TripConnection = connectionType(Trip, 'Trip');

@Resolver(() => Trip)
export class TripResolver {
  constructor(private readonly tripService: TripService) {}

  @Authorized()
  @Query(() => TripConnection, { description: 'Trips of the customer (or of one device), newest first.' })
  trips(
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID, { nullable: true }) deviceId?: string,
    @Arg('from', () => String, { nullable: true, description: 'Only trips still going at or after this ISO time.' }) from?: string,
    @Arg('to', () => String, { nullable: true, description: 'Only trips started at or before this ISO time.' }) to?: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<ConnectionShape<Trip>> {
    return this.tripService.connection(ctx.em, principalOf(ctx), { deviceId, from, to }, first, after);
  }

  @Authorized()
  @Query(() => Trip, { description: 'One trip; NOT_FOUND for an unknown id or one of another customer.' })
  trip(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<Trip> {
    return this.tripService.get(ctx.em, principalOf(ctx), id);
  }

  @FieldResolver(() => Device)
  device(@Root() trip: Trip, @Ctx() ctx: GraphQLContext): Promise<Device> {
    return loadOwned(ctx, Device, trip.customer.id, trip.device.id);
  }

  @FieldResolver(() => String, { description: '"HH:MM:SS"; a trip in progress counts up to now.' })
  duration(@Root() trip: Trip): string {
    return tripDuration(trip.startTimeUtc, trip.endTimeUtc);
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
