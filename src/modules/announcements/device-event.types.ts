import { Field, ID, ObjectType } from 'type-graphql';

import { Device } from '../devices/device.entity.js';

@ObjectType({ description: 'A record a device uploaded whose tag an enabled EVENT trigger of the customer listens to.' })
export class DeviceEvent {
  @Field(() => ID, { description: "The announcement id (the webhook body's data.event_id)." })
  eventId!: string;

  @Field(() => String, { description: "Where this event stands in the customer's device events: pass it as `after` to deviceEvent to get what came after it." })
  cursor!: string;

  @Field(() => String, { description: 'When the upload carrying the record was stored.' })
  occurredAt!: string;

  @Field(() => String, { description: "The record's @tag." })
  tag!: string;

  @Field(() => String, { description: "The record's @ts." })
  at!: string;

  @Field(() => String, { description: 'The record as stored (with @uid, @vid, @rec), as JSON text.' })
  record!: string;

  @Field(() => Device)
  device!: Device;
}
