import { Arg, Authorized, Ctx, ID, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, principalOf } from '../../graphql/context.js';
import type { DeviceEventMessage } from './announcement-topics.js';
import type { DeviceEventService } from './device-event.service.js';
import { DeviceEvent } from './device-event.types.js';

interface Args {
  deviceId?: string | null;
  tag?: string | null;
  after?: string | null;
}

@Resolver(() => DeviceEvent)
export class DeviceEventResolver {
  constructor(private readonly deviceEventService: DeviceEventService) {}

  @Authorized()
  @Subscription(() => DeviceEvent, {
    description:
      "Records of the caller's devices that fired an enabled EVENT trigger, optionally of one device and of tags matching `tag` (a tag, or a glob: * within one level, ** across levels). With `after` (an event's cursor), first the events that came after it, then live ones, none twice; CURSOR_EXPIRED when those have been deleted (ANNOUNCEMENT_REPLAY_DAYS).",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Args, GraphQLContext>) =>
      context.resolvers.get(DeviceEventResolver).deviceEventService.subscribe(context.em, principalOf(context), args),
  })
  deviceEvent(
    @Root() message: DeviceEventMessage,
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string,
    @Arg('tag', () => String, { nullable: true }) _tag?: string,
    @Arg('after', () => String, { nullable: true, description: "A DeviceEvent's cursor: first the events after it, then live ones, none twice." }) _after?: string,
  ): Promise<DeviceEvent> {
    return this.deviceEventService.eventFor(principalOf(ctx), message);
  }
}
