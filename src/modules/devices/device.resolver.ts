import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import { type GraphQLContext, loadOwned, principalOf } from '../../graphql/context.js';
import { Device } from './device.entity.js';
import type { DeviceService } from './device.service.js';
import { ApplyTemplatePayload, CreateDeviceInput, CreateDevicePayload, CreateTemplateInput, PartialTripSettingsType, TripSettingsInput, TripSettingsType } from './device.types.js';
import { Template } from './template.entity.js';

@Resolver(() => Device)
export class DeviceResolver {
  constructor(private readonly deviceService: DeviceService) {}

  @Authorized()
  @Query(() => [Device], { description: "The caller's devices." })
  devices(@Ctx() ctx: GraphQLContext): Promise<Device[]> {
    return this.deviceService.listDevices(ctx.em, principalOf(ctx));
  }

  @Authorized()
  @Query(() => Device, { description: 'One device; NOT_FOUND for an unknown id or one of another customer.' })
  device(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<Device> {
    return this.deviceService.getDevice(ctx.em, principalOf(ctx), id);
  }

  @Authorized()
  @Mutation(() => CreateDevicePayload)
  createDevice(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateDeviceInput) input: CreateDeviceInput): Promise<CreateDevicePayload> {
    return this.deviceService.createDevice(ctx.em, principalOf(ctx), input);
  }

  @Authorized()
  @Mutation(() => Device)
  updateDeviceSettings(
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID) deviceId: string,
    @Arg('settings', () => TripSettingsInput) settings: TripSettingsInput,
  ): Promise<Device> {
    return this.deviceService.updateSettings(ctx.em, principalOf(ctx), deviceId, settings);
  }

  @FieldResolver(() => TripSettingsType, { description: 'Effective settings: defaults < template < device.' })
  settings(@Root() device: Device, @Ctx() ctx: GraphQLContext): Promise<TripSettingsType> {
    return this.deviceService.effectiveSettingsOf(ctx.em, device) as Promise<TripSettingsType>;
  }

  @FieldResolver(() => PartialTripSettingsType, { description: "The device's own overrides." })
  ownSettings(@Root() device: Device): PartialTripSettingsType {
    return { ...device.settings } as PartialTripSettingsType;
  }

  @FieldResolver(() => Template, { nullable: true })
  async template(@Root() device: Device, @Ctx() ctx: GraphQLContext): Promise<Template | null> {
    return device.template ? loadOwned(ctx, Template, device.customer.id, device.template.id) : null;
  }
}

@Resolver(() => Template)
export class TemplateResolver {
  constructor(private readonly deviceService: DeviceService) {}

  @Authorized()
  @Query(() => [Template])
  templates(@Ctx() ctx: GraphQLContext): Promise<Template[]> {
    return this.deviceService.listTemplates(ctx.em, principalOf(ctx));
  }

  @Authorized()
  @Mutation(() => Template)
  createTemplate(@Ctx() ctx: GraphQLContext, @Arg('input', () => CreateTemplateInput) input: CreateTemplateInput): Promise<Template> {
    return this.deviceService.createTemplate(ctx.em, principalOf(ctx), input.name, input.settings);
  }

  @Authorized()
  @Mutation(() => ApplyTemplatePayload)
  async applyTemplate(
    @Ctx() ctx: GraphQLContext,
    @Arg('templateId', () => ID) templateId: string,
    @Arg('deviceIds', () => [ID]) deviceIds: string[],
  ): Promise<ApplyTemplatePayload> {
    return { devices: await this.deviceService.applyTemplate(ctx.em, principalOf(ctx), templateId, deviceIds) };
  }

  @FieldResolver(() => PartialTripSettingsType)
  settings(@Root() template: Template): PartialTripSettingsType {
    return { ...template.settings } as PartialTripSettingsType;
  }
}
