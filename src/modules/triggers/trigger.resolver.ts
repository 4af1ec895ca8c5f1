import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';

import { type GraphQLContext, loadOwned, principalOf } from '../../graphql/context.js';
import { PREFETCH, prefetchConnection, prefetchList } from '../../graphql/prefetch.js';
import type { MaybePromise } from '../../graphql/request-cache.js';
import { type ConnectionShape, connectionType, LIST_DEPRECATION } from '../../lib/pagination.js';
import { Device } from '../devices/device.entity.js';
import { Trigger } from './trigger.entity.js';
import type { TriggerService } from './trigger.service.js';
import { CreateTriggerInput, TriggerActions, TriggerTestResult, TriggerWithSecretPayload, UpdateTriggerInput } from './trigger.types.js';
import type { TriggerDraft } from './trigger-rules.js';

/** GraphQL lets a client send null for any optional field; only the clearable ones mean "clear". */
function draftOf(input: UpdateTriggerInput): TriggerDraft {
  const { email, webhook, description, enabled, type, minIntervalSeconds, signal, eventTag, deviceId } = input;
  return {
    description: description ?? undefined,
    enabled: enabled ?? undefined,
    type: type ?? undefined,
    minIntervalSeconds: minIntervalSeconds ?? undefined,
    signal,
    eventTag,
    deviceId,
    ...(email !== undefined ? { email: email && { recipients: email.recipients } } : {}),
    ...(webhook !== undefined
      ? { webhook: webhook && { url: webhook.url, bodyTemplate: webhook.bodyTemplate, headers: Object.fromEntries((webhook.headers ?? []).map((h) => [h.name, h.value])) } }
      : {}),
  };
}

const TriggerConnection = connectionType(Trigger, 'Trigger');

@Resolver(() => Trigger)
export class TriggerResolver {
  constructor(private readonly triggerService: TriggerService) {}

  @Authorized()
  @Query(() => [Trigger], { description: "The caller's triggers; use triggerConnection.", deprecationReason: LIST_DEPRECATION })
  async triggers(@Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<Trigger[]> {
    return prefetchList(ctx, info, await this.triggerService.list(ctx.em, principalOf(ctx)));
  }

  @Authorized()
  @Query(() => TriggerConnection, { description: "The caller's triggers, oldest first." })
  async triggerConnection(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<ConnectionShape<Trigger>> {
    return prefetchConnection(ctx, info, await this.triggerService.connection(ctx.em, principalOf(ctx), first, after));
  }

  @Authorized()
  @Query(() => Trigger, { description: 'One trigger; NOT_FOUND for an unknown id or one of another customer.' })
  trigger(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<Trigger> {
    return this.triggerService.get(ctx.em, principalOf(ctx), id);
  }

  @Authorized()
  @Mutation(() => TriggerWithSecretPayload, { description: 'Creates a trigger; its webhook signing secret is returned this once.' })
  createTrigger(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateTriggerInput) input: CreateTriggerInput): Promise<TriggerWithSecretPayload> {
    return this.triggerService.create(ctx.em, principalOf(ctx), draftOf(input));
  }

  @Authorized()
  @Mutation(() => Trigger)
  updateTrigger(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string, @Arg('input', () => UpdateTriggerInput) input: UpdateTriggerInput): Promise<Trigger> {
    return this.triggerService.update(ctx.em, principalOf(ctx), id, draftOf(input));
  }

  @Authorized()
  @Mutation(() => ID, { description: 'Deletes the trigger with its deliveries; answers its id.' })
  deleteTrigger(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<string> {
    return this.triggerService.delete(ctx.em, principalOf(ctx), id);
  }

  @Authorized()
  @Mutation(() => TriggerWithSecretPayload, { description: 'A new signing secret, shown once; the old one keeps signing too for keepPreviousSeconds.' })
  rotateTriggerSecret(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('keepPreviousSeconds', () => Int, { defaultValue: 86400 }) keepPreviousSeconds: number,
  ): Promise<TriggerWithSecretPayload> {
    return this.triggerService.rotateSecret(ctx.em, principalOf(ctx), id, keepPreviousSeconds);
  }

  @Authorized()
  @Mutation(() => [TriggerTestResult], { description: 'Sends a sample announcement through every action now; nothing is stored or retried.' })
  testTrigger(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<TriggerTestResult[]> {
    return this.triggerService.test(ctx.em, principalOf(ctx), id);
  }

  @Extensions(PREFETCH)
  @FieldResolver(() => Device, { nullable: true, description: 'Only signals of this device fire the trigger; null: every device.' })
  device(@Root() trigger: Trigger, @Ctx() ctx: GraphQLContext): MaybePromise<Device | null> {
    return trigger.device ? loadOwned(ctx, Device, trigger.customer.id, trigger.device.id) : null;
  }

  @FieldResolver(() => TriggerActions)
  actions(@Root() trigger: Trigger): TriggerActions {
    return {
      email: trigger.emailRecipients.length ? { recipients: trigger.emailRecipients } : null,
      webhook: trigger.webhookUrl
        ? {
            url: trigger.webhookUrl,
            headers: Object.entries(trigger.webhookHeaderMasks).map(([name, value]) => ({ name, value })),
            bodyTemplate: trigger.webhookBodyTemplate ?? null,
          }
        : null,
    };
  }
}
