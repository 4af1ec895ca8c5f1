import { Arg, Authorized, Ctx, ID, Int, Query, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, principalOf } from '../../graphql/context.js';
import type { ConnectionShape } from '../../lib/pagination.js';
import type { AnnouncementService } from './announcement.service.js';
import type { TripExportFinishedMessage } from './announcement-topics.js';
import { TripExportEventConnection, TripExportFinishedEvent } from './trip-export-finished.types.js';

interface Args {
  deviceId?: string | null;
  after?: string | null;
}

@Resolver(() => TripExportFinishedEvent)
export class TripExportFinishedResolver {
  constructor(private readonly announcementService: AnnouncementService) {}

  @Authorized()
  @Subscription(() => TripExportFinishedEvent, {
    description:
      "Every finished (or re-announced) trip export of the caller's customer, optionally of one device. With `after` (an event's cursor), first the events that came after it, then live ones, none twice; CURSOR_EXPIRED when those have been deleted (ANNOUNCEMENT_REPLAY_DAYS).",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Args, GraphQLContext>) =>
      context.resolvers.get(TripExportFinishedResolver).announcementService.subscribe(context.em, principalOf(context), args.deviceId, args.after),
  })
  tripExportFinished(
    @Root() message: TripExportFinishedMessage,
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): Promise<TripExportFinishedEvent> {
    return this.announcementService.eventFor(principalOf(ctx), message);
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
    return this.announcementService.page(ctx.em, principalOf(ctx), first, after);
  }
}
