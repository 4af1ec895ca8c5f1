import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

import { connectionType } from '../../lib/pagination.js';
import { Device } from './device.entity.js';
import { Template } from './template.entity.js';
import type { TripSettings, TripSettingsChange } from './trip-settings.js';

@ObjectType('TripSettings', { description: 'Trip rules of a device: defaults, overlaid by its template, overlaid by its own.' })
export class TripSettingsType implements TripSettings {
  @Field(() => Boolean)
  autoExport!: boolean;

  @Field(() => Int)
  reopenLimitSeconds!: number;

  @Field(() => Int)
  activeTripMaxAgeSeconds!: number;

  @Field(() => [String])
  startTags!: string[];

  @Field(() => [String])
  endTags!: string[];

  @Field(() => [String])
  finalEndTags!: string[];
}

/** One layer of settings: read back as `PartialTripSettings`, written as `TripSettingsInput`. */
@ObjectType('PartialTripSettings', { description: 'Settings given explicitly at one layer; unset fields are null.' })
@InputType('TripSettingsInput', { description: 'A change to one layer: a field left out keeps its value, null removes it so the layer below (template, default) applies.' })
export class TripSettingsInput implements TripSettingsChange {
  @Field(() => Boolean, { nullable: true })
  autoExport?: boolean | null;

  @Field(() => Int, { nullable: true })
  reopenLimitSeconds?: number | null;

  @Field(() => Int, { nullable: true })
  activeTripMaxAgeSeconds?: number | null;

  @Field(() => [String], { nullable: true })
  startTags?: string[] | null;

  @Field(() => [String], { nullable: true })
  endTags?: string[] | null;

  @Field(() => [String], { nullable: true })
  finalEndTags?: string[] | null;
}

export { TripSettingsInput as PartialTripSettingsType };

@InputType()
export class CreateDeviceInput {
  @Field(() => String, { description: 'The unit id (uuid) the device reports.' })
  unitId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int)
  vehicleId!: number;
}

@ObjectType()
export class CreateDevicePayload {
  @Field(() => Device)
  device!: Device;

  @Field(() => String, { description: 'The device upload token; shown only once.' })
  uploadToken!: string;
}

@ObjectType({ description: 'The device with its new upload token; the old token no longer works.' })
export class RotateDeviceTokenPayload extends CreateDevicePayload {}

@InputType({ description: 'Fields left out stay as they are.' })
export class UpdateTemplateInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => TripSettingsInput, { nullable: true, description: 'Changes these settings of the template; a setting given null is removed, so the default applies.' })
  settings?: TripSettingsInput | null;
}

export const DeviceConnection = connectionType(Device, 'Device');
export const TemplateConnection = connectionType(Template, 'Template');

@InputType()
export class CreateTemplateInput {
  @Field(() => String)
  name!: string;

  @Field(() => TripSettingsInput)
  settings!: TripSettingsInput;
}

@ObjectType()
export class ApplyTemplatePayload {
  @Field(() => [Device])
  devices!: Device[];
}

export { ID };
