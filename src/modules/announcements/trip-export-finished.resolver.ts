import { Arg, Authorized, Ctx, ID, Int, Query, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, principalOf } from '../../graphql/context.js';
import type { ConnectionShape } from '../../lib/pagination.js';
import type { TripExportFinishedMessage } from './announcement-topics.js';
import { TripExportEventConnection, TripExportFinishedEvent } from './trip-export-finished.types.js';

interface Args {
  deviceId?: string | null;
  after?: string | null;
}

@Resolver(() => TripExportFinishedEvent)
export class TripExportFinishedResolver {
  @Authorized()
  @Subscription(() => TripExportFinishedEvent, {
    description:
      "Every finished (or re-announced) trip export of the caller's customer, optionally of one device. With `after` (an event's cursor), first the events that came after it, then live ones, none twice; CURSOR_EXPIRED when those have been deleted (ANNOUNCEMENT_REPLAY_DAYS).",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Args, GraphQLContext>) =>
      context.services.announcements.subscribe(context.em, principalOf(context), args.deviceId, args.after),
  })
  tripExportFinished(
    @Root() message: TripExportFinishedMessage,
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): Promise<TripExportFinishedEvent> {
    // A subscription lives long: the event is loaded with an EntityManager of its own.
    return ctx.services.announcements.eventFor(() => ctx.services.db.orm.em.fork(), principalOf(ctx), message);
  }

  @Authorized()
  @Query(() => TripExportEventConnection, {
    description: 'The events tripExportFinished delivers, oldest first, for clients that poll: pass the endCursor of a page as `after` for the next one.',
  })
  tripExportEvents(
    @Ctx() ctx: GraphQLContext,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
  ): Promise<ConnectionShape<TripExportFinishedEvent>> {
    return ctx.services.announcements.page(ctx.em, principalOf(ctx), first, after);
  }
}
