import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';

import { type GraphQLContext, loadOwned, principalOf } from '../../graphql/context.js';
import { PREFETCH, prefetchConnection, prefetchList } from '../../graphql/prefetch.js';
import { related, relatedRowsAt, type RelatedValue } from '../../graphql/related.js';
import { mapMaybe, type MaybePromise } from '../../graphql/request-cache.js';
import { loaderOf, reads, selectedColumns } from '../../graphql/selection.js';
import { notFound } from '../../lib/errors.js';
import { ownedByIds } from '../../lib/ownership.js';
import { type ConnectionShape, LIST_DEPRECATION } from '../../lib/pagination.js';
import { Device } from './device.entity.js';
import { type DeviceService, lastSeenOf, lastSeenValue } from './device.service.js';
import {
  ApplyTemplatePayload,
  CreateDeviceInput,
  CreateDevicePayload,
  CreateTemplateInput,
  DeviceConnection,
  PartialTripSettingsType,
  RotateDeviceTokenPayload,
  TemplateConnection,
  TripSettingsInput,
  TripSettingsType,
  UpdateTemplateInput,
} from './device.types.js';
import type { DeviceDeletion } from './device-deletion.js';
import { Template } from './template.entity.js';
import { effectiveSettings } from './trip-settings.js';

/** A device's last accepted upload, read with the device's row. */
const LAST_SEEN: RelatedValue = { value: lastSeenOf, read: lastSeenValue, parentKey: 'id', loader: 'lastSeen' };

@Resolver(() => Device)
export class DeviceResolver {
  constructor(
    private readonly deviceService: DeviceService,
    private readonly deviceDeletion: DeviceDeletion,
  ) {}

  @Authorized()
  @Query(() => [Device], { description: "The caller's devices; use deviceConnection.", deprecationReason: LIST_DEPRECATION })
  async devices(@Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<Device[]> {
    const related = relatedRowsAt(ctx, info, []);
    return prefetchList(ctx, info, await this.deviceService.listDevices(ctx.em, principalOf(ctx), selectedColumns(ctx.em, Device, info), related), related);
  }

  @Authorized()
  @Query(() => DeviceConnection, { description: "The caller's devices, oldest first." })
  async deviceConnection(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<ConnectionShape<Device>> {
    return prefetchConnection(ctx, info, await this.deviceService.deviceConnection(ctx.em, principalOf(ctx), first, after));
  }

  @Authorized()
  @Query(() => Device, { description: 'One device; NOT_FOUND for an unknown id or one of another customer.' })
  async device(@Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo, @Arg('id', () => ID) id: string): Promise<Device> {
    const columns = selectedColumns(ctx.em, Device, info);
    const related = relatedRowsAt(ctx, info, []);
    // The request's loader: the same device asked for again (a trip's device, an alias) is not read again.
    if (!related) return loadOwned(ctx, Device, principalOf(ctx).customerId, id, columns);
    // What the selection reads of other tables (its last upload, its latest trip) comes with the row.
    const device = (await ownedByIds(ctx.em, Device, principalOf(ctx).customerId, [id], columns, related)).get(id);
    if (!device) throw notFound('Device');
    return device;
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

  @Authorized()
  @Mutation(() => Device)
  renameDevice(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string, @Arg('name', () => String) name: string): Promise<Device> {
    return this.deviceService.renameDevice(ctx.em, principalOf(ctx), id, name);
  }

  @Authorized()
  @Mutation(() => ID, {
    description:
      'Deletes the device with everything recorded for it: records, trips, export tasks and their files, upload batches, and triggers limited to it (with their deliveries). Announcements already made stay in the delivery log. Answers its id.',
  })
  deleteDevice(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<string> {
    return this.deviceDeletion.delete(principalOf(ctx), id);
  }

  @Authorized()
  @Mutation(() => RotateDeviceTokenPayload, { description: 'A new upload token, shown only this once; the old one stops working at once.' })
  rotateDeviceToken(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<RotateDeviceTokenPayload> {
    return this.deviceService.rotateUploadToken(ctx.em, principalOf(ctx), id);
  }

  @Extensions({ ...PREFETCH, ...reads(), ...related(LAST_SEEN) })
  @FieldResolver(() => String, { nullable: true, description: 'When its newest upload was accepted; null when none was (or retention removed the record of it).' })
  lastSeenAt(@Root() device: Device, @Ctx() ctx: GraphQLContext): MaybePromise<string | null> {
    const customerId = device.customer.id;
    return ctx.cache.load(loaderOf(LAST_SEEN.loader, customerId, undefined), device.id, (ids: readonly string[]) => this.deviceService.lastSeen(ctx.em, customerId, ids));
  }

  @Extensions({ ...PREFETCH, ...reads('settings') })
  @FieldResolver(() => TripSettingsType, { description: 'Effective settings: defaults < template < device.' })
  settings(@Root() device: Device, @Ctx() ctx: GraphQLContext): MaybePromise<TripSettingsType> {
    const settings = (template: Template | null) => effectiveSettings(template?.settings, device.settings) as TripSettingsType;
    // Templates through the request's loader: one query for a whole page of devices.
    const template = device.template ? loadOwned(ctx, Template, device.customer.id, device.template.id) : null;
    return mapMaybe(template, settings);
  }

  @Extensions(reads('settings'))
  @FieldResolver(() => PartialTripSettingsType, { description: "The device's own overrides." })
  ownSettings(@Root() device: Device): PartialTripSettingsType {
    return { ...device.settings } as PartialTripSettingsType;
  }

  @Extensions({ ...PREFETCH, ...reads() })
  @FieldResolver(() => Template, { nullable: true })
  template(@Root() device: Device, @Ctx() ctx: GraphQLContext): MaybePromise<Template | null> {
    return device.template ? loadOwned(ctx, Template, device.customer.id, device.template.id) : null;
  }
}

@Resolver(() => Template)
export class TemplateResolver {
  constructor(private readonly deviceService: DeviceService) {}

  @Authorized()
  @Query(() => [Template], { description: 'Use templateConnection.', deprecationReason: LIST_DEPRECATION })
  templates(@Ctx() ctx: GraphQLContext): Promise<Template[]> {
    return this.deviceService.listTemplates(ctx.em, principalOf(ctx));
  }

  @Authorized()
  @Query(() => TemplateConnection, { description: "The caller's templates, by name." })
  templateConnection(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<ConnectionShape<Template>> {
    return this.deviceService.templateConnection(ctx.em, principalOf(ctx), first, after);
  }

  @Authorized()
  @Mutation(() => Template)
  updateTemplate(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string, @Arg('input', () => UpdateTemplateInput) input: UpdateTemplateInput): Promise<Template> {
    return this.deviceService.updateTemplate(ctx.em, principalOf(ctx), id, input);
  }

  @Authorized()
  @Mutation(() => ID, { description: 'Deletes the template; its devices keep their own settings over the defaults. Answers its id.' })
  deleteTemplate(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<string> {
    return this.deviceService.deleteTemplate(ctx.em, principalOf(ctx), id);
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

  @Extensions(reads('settings'))
  @FieldResolver(() => PartialTripSettingsType)
  settings(@Root() template: Template): PartialTripSettingsType {
    return { ...template.settings } as PartialTripSettingsType;
  }
}
