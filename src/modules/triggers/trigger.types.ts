import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

import { DeliveryChannel, Trigger, TriggerType } from './trigger.entity.js';

@ObjectType()
class HttpHeader {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'Masked (****wxyz): values are stored encrypted and never shown. Sent back unchanged, a header keeps its value.' })
  value!: string;
}

@ObjectType()
class EmailAction {
  @Field(() => [String])
  recipients!: string[];
}

@ObjectType()
class WebhookAction {
  @Field(() => String)
  url!: string;

  @Field(() => [HttpHeader], { description: 'Sent with every request, next to the webhook-* headers.' })
  headers!: HttpHeader[];

  @Field(() => String, {
    nullable: true,
    description:
      'JSON with {{path}} placeholders over signal, task, trip, device, result and trigger; each is replaced by its value as JSON. Unset: the Standard Webhooks envelope.',
  })
  bodyTemplate?: string | null;
}

@ObjectType()
export class TriggerActions {
  @Field(() => EmailAction, { nullable: true })
  email?: EmailAction | null;

  @Field(() => WebhookAction, { nullable: true })
  webhook?: WebhookAction | null;
}

@InputType()
export class HttpHeaderInput {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  value!: string;
}

@InputType()
export class EmailActionInput {
  @Field(() => [String])
  recipients!: string[];
}

@InputType()
export class WebhookActionInput {
  @Field(() => String, { description: 'http or https; must reach a public address.' })
  url!: string;

  @Field(() => [HttpHeaderInput], { nullable: true })
  headers?: HttpHeaderInput[] | null;

  @Field(() => String, { nullable: true })
  bodyTemplate?: string | null;
}

@InputType({ description: 'Fields left out keep their value; an action set to null is removed.' })
export class UpdateTriggerInput {
  @Field(() => String, { nullable: true })
  description?: string;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean;

  @Field(() => TriggerType, { nullable: true })
  type?: TriggerType;

  @Field(() => String, { nullable: true, description: 'For SIGNAL: trip_export_finished.' })
  signal?: string | null;

  @Field(() => String, { nullable: true, description: 'For EVENT: a tag pattern such as vehicle/engine/*.' })
  eventTag?: string | null;

  @Field(() => ID, { nullable: true, description: 'Only this device (null: every device).' })
  deviceId?: string | null;

  @Field(() => Int, { nullable: true })
  minIntervalSeconds?: number;

  @Field(() => EmailActionInput, { nullable: true })
  email?: EmailActionInput | null;

  @Field(() => WebhookActionInput, { nullable: true })
  webhook?: WebhookActionInput | null;
}

@InputType()
export class CreateTriggerInput extends UpdateTriggerInput {
  @Field(() => String)
  declare description: string;

  @Field(() => TriggerType)
  declare type: TriggerType;
}

@ObjectType()
export class TriggerWithSecretPayload {
  @Field(() => Trigger)
  trigger!: Trigger;

  @Field(() => String, { description: 'The whsec_ signing secret; shown only this once.' })
  webhookSecret!: string;
}

@ObjectType()
export class TriggerTestResult {
  @Field(() => DeliveryChannel)
  channel!: DeliveryChannel;

  @Field(() => Boolean)
  succeeded!: boolean;

  @Field(() => Int, { nullable: true })
  statusCode?: number | null;

  @Field(() => String, { nullable: true })
  error?: string | null;

  @Field(() => Int)
  durationMs!: number;

  @Field(() => String, { nullable: true, description: 'webhook-id of the test request.' })
  webhookId?: string | null;
}
