import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

import { Device } from './device.entity.js';
import type { PartialTripSettings, TripSettings } from './trip-settings.js';

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
@InputType('TripSettingsInput')
export class TripSettingsInput implements PartialTripSettings {
  @Field(() => Boolean, { nullable: true })
  autoExport?: boolean;

  @Field(() => Int, { nullable: true })
  reopenLimitSeconds?: number;

  @Field(() => Int, { nullable: true })
  activeTripMaxAgeSeconds?: number;

  @Field(() => [String], { nullable: true })
  startTags?: string[];

  @Field(() => [String], { nullable: true })
  endTags?: string[];

  @Field(() => [String], { nullable: true })
  finalEndTags?: string[];
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
