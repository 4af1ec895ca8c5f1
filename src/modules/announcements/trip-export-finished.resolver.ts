import { Arg, Authorized, Ctx, ID, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, principalOf } from '../../graphql/context.js';
import type { AnnouncementService } from './announcement.service.js';
import type { TripExportFinishedMessage } from './announcement-topics.js';
import { TripExportFinishedEvent } from './trip-export-finished.types.js';

interface Args {
  deviceId?: string | null;
}

@Resolver(() => TripExportFinishedEvent)
export class TripExportFinishedResolver {
  constructor(private readonly announcementService: AnnouncementService) {}

  @Authorized()
  @Subscription(() => TripExportFinishedEvent, {
    description: "Every finished (or re-announced) trip export of the caller's customer, optionally of one device.",
    // Runs outside the instance: type-graphql calls it with the operation's data only.
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Args, GraphQLContext>) =>
      context.resolvers.get(TripExportFinishedResolver).announcementService.subscribe(context.em, principalOf(context), args.deviceId),
  })
  tripExportFinished(
    @Root() message: TripExportFinishedMessage,
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string,
  ): Promise<TripExportFinishedEvent> {
    return this.announcementService.eventFor(principalOf(ctx), message);
  }
}
