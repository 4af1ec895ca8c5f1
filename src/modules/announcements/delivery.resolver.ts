import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';

import { type GraphQLContext, loadOwned, principalOf } from '../../graphql/context.js';
import { PREFETCH, prefetchConnection, prefetchList } from '../../graphql/prefetch.js';
import type { MaybePromise } from '../../graphql/request-cache.js';
import { type ConnectionShape, connectionType, LIST_DEPRECATION } from '../../lib/pagination.js';
import { webhookIdOf } from '../../notify/webhook-signature.js';
import { Trigger } from '../triggers/trigger.entity.js';
import { DeliveryChannel } from '../triggers/trigger.entity.js';
import { Delivery, DeliveryState } from './delivery.entity.js';
import type { DeliveryService } from './delivery.service.js';
import { DeliveryAttempt } from './delivery-attempt.entity.js';

const DeliveryConnection = connectionType(Delivery, 'Delivery');

@Resolver(() => Delivery)
export class DeliveryResolver {
  constructor(private readonly deliveryService: DeliveryService) {}

  @Authorized()
  @Query(() => [Delivery], { description: 'Deliveries of announcements to triggers, newest first; use deliveryConnection.', deprecationReason: LIST_DEPRECATION })
  async deliveries(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('triggerId', () => ID, { nullable: true }) triggerId?: string,
    @Arg('taskId', () => ID, { nullable: true }) taskId?: string,
    @Arg('state', () => DeliveryState, { nullable: true }) state?: DeliveryState,
    @Arg('first', () => Int, { defaultValue: 50 }) first?: number,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset?: number,
  ): Promise<Delivery[]> {
    return prefetchList(ctx, info, await this.deliveryService.list(ctx.em, principalOf(ctx), { triggerId, taskId, state, first, offset }));
  }

  @Authorized()
  @Query(() => DeliveryConnection, { description: 'Deliveries of announcements to triggers, newest first.' })
  async deliveryConnection(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('triggerId', () => ID, { nullable: true }) triggerId?: string,
    @Arg('taskId', () => ID, { nullable: true }) taskId?: string,
    @Arg('state', () => DeliveryState, { nullable: true }) state?: DeliveryState,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<ConnectionShape<Delivery>> {
    return prefetchConnection(ctx, info, await this.deliveryService.connection(ctx.em, principalOf(ctx), { triggerId, taskId, state }, first, after));
  }

  @Authorized()
  @Query(() => Delivery)
  delivery(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<Delivery> {
    return this.deliveryService.get(ctx.em, principalOf(ctx), id);
  }

  @Authorized()
  @Mutation(() => Delivery, { description: 'Sends a DELIVERED or FAILED delivery again, with the same webhook-id.' })
  redeliver(@Ctx() ctx: GraphQLContext, @Arg('deliveryId', () => ID) deliveryId: string): Promise<Delivery> {
    return this.deliveryService.redeliver(ctx.em, principalOf(ctx), deliveryId);
  }

  @FieldResolver(() => String, { nullable: true, description: 'The webhook-id header: the same on every attempt.' })
  webhookId(@Root() delivery: Delivery): string | null {
    return delivery.channel === DeliveryChannel.WEBHOOK ? webhookIdOf(delivery.id) : null;
  }

  @FieldResolver(() => ID, { description: 'The announcement (outbox signal) delivered.' })
  eventId(@Root() delivery: Delivery): string {
    return delivery.signal.id;
  }

  @Extensions(PREFETCH)
  @FieldResolver(() => Trigger)
  trigger(@Root() delivery: Delivery, @Ctx() ctx: GraphQLContext): MaybePromise<Trigger> {
    return loadOwned(ctx, Trigger, delivery.customer.id, delivery.trigger.id);
  }

  @FieldResolver(() => [DeliveryAttempt], { description: 'Every attempt, oldest first.' })
  attemptLog(@Root() delivery: Delivery, @Ctx() ctx: GraphQLContext): Promise<DeliveryAttempt[]> {
    return this.deliveryService.attemptsOf(ctx.em, delivery);
  }
}
