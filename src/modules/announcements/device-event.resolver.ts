import { Arg, Authorized, Ctx, ID, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, principalOf } from '../../graphql/context.js';
import type { DeviceEventMessage } from './announcement-topics.js';
import type { DeviceEventService } from './device-event.service.js';
import { DeviceEvent } from './device-event.types.js';

interface Args {
  deviceId?: string | null;
  tag?: string | null;
}

@Resolver(() => DeviceEvent)
export class DeviceEventResolver {
  constructor(private readonly deviceEventService: DeviceEventService) {}

  @Authorized()
  @Subscription(() => DeviceEvent, {
    description:
      "Records of the caller's devices that fired an enabled EVENT trigger, optionally of one device and of tags matching `tag` (a tag, or a glob: * within one level, ** across levels).",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Args, GraphQLContext>) =>
      context.resolvers.get(DeviceEventResolver).deviceEventService.subscribe(context.em, principalOf(context), args),
  })
  deviceEvent(
    @Root() message: DeviceEventMessage,
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string,
    @Arg('tag', () => String, { nullable: true }) _tag?: string,
  ): Promise<DeviceEvent> {
    return this.deviceEventService.eventFor(principalOf(ctx), message);
  }
}
