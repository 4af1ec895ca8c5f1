import { Arg, Authorized, Ctx, ID, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, principalOf } from '../../graphql/context.js';
import type { TripExportFinishedMessage } from './announcement-topics.js';
import { TripExportFinishedEvent } from './trip-export-finished.types.js';

interface Args {
  deviceId?: string | null;
}

@Resolver(() => TripExportFinishedEvent)
export class TripExportFinishedResolver {
  @Authorized()
  @Subscription(() => TripExportFinishedEvent, {
    description: "Every finished (or re-announced) trip export of the caller's customer, optionally of one device.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Args, GraphQLContext>) =>
      context.services.announcements.subscribe(context.em, principalOf(context), args.deviceId),
  })
  tripExportFinished(
    @Root() message: TripExportFinishedMessage,
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string,
  ): Promise<TripExportFinishedEvent> {
    // A subscription lives long: the event is loaded with an EntityManager of its own.
    return ctx.services.announcements.eventFor(() => ctx.services.db.orm.em.fork(), principalOf(ctx), message);
  }
}
