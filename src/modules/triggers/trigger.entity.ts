import { Entity, Enum, Index, ManyToOne, type Opt, Property, type Ref } from '@mikro-orm/core';
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';
import { IsoTimestampType } from '../../db/iso-timestamp.type.js';
import { Customer } from '../accounts/customer.entity.js';
import { Device } from '../devices/device.entity.js';

export enum TriggerType {
  SIGNAL = 'signal',
  EVENT = 'event',
}
registerEnumType(TriggerType, {
  name: 'TriggerType',
  description:
    'SIGNAL fires on a named signal (trip_export_finished). EVENT fires for each uploaded record whose @tag matches eventTag (at most once per device every minIntervalSeconds of record time), as a device_event webhook, e-mail and deviceEvent subscription event.',
});

/** The actions a trigger can take: each becomes one delivery per announcement. */
export enum DeliveryChannel {
  WEBHOOK = 'webhook',
  EMAIL = 'email',
}
registerEnumType(DeliveryChannel, { name: 'DeliveryChannel' });

/**
 * What a customer wants to happen when a signal (or a device event) occurs: an e-mail to
 * some recipients and/or a signed webhook. A trigger without either action only records
 * that it fired.
 */
@ObjectType()
@Entity({ tableName: 'triggers' })
@Index({ properties: ['customer', 'type', 'signal'] })
export class Trigger extends UuidEntity {
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  @Field(() => String)
  @Property({ type: 'text' })
  description!: string;

  @Field(() => Boolean)
  @Property({ type: 'boolean' })
  enabled: Opt<boolean> = true;

  @Field(() => TriggerType)
  @Enum({ items: () => TriggerType, nativeEnumName: 'trigger_type' })
  type!: TriggerType;

  @Field(() => String, { nullable: true, description: 'The signal a SIGNAL trigger listens to.' })
  @Property({ type: 'text', nullable: true })
  signal?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Event tag pattern of an EVENT trigger, e.g. vehicle/battery/*: * matches any run within one level (no /), ** any run across levels.',
  })
  @Property({ type: 'text', nullable: true })
  eventTag?: string | null;

  /** Only this device's signals (or records) fire the trigger; none means every device of the customer. */
  @ManyToOne(() => Device, { ref: true, nullable: true, deleteRule: 'cascade' })
  device?: Ref<Device> | null;

  @Field(() => Int, { description: "Firings closer together than this are skipped (EVENT: per device, in the records' own time)." })
  @Property({ type: 'integer' })
  minIntervalSeconds: Opt<number> = 0;

  @Field(() => String, { name: 'lastTriggered', nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  lastTriggeredAt?: string | null;

  @Field(() => String, { nullable: true, description: 'Why the last delivery attempt of this trigger failed.' })
  @Property({ type: 'text', nullable: true })
  lastError?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  lastErrorAt?: string | null;

  @Property({ type: 'jsonb' })
  emailRecipients: Opt<string[]> = [];

  @Property({ type: 'text', nullable: true })
  webhookUrl?: string | null;

  /**
   * Extra header names with masked values (`****wxyz`): what the API shows. The values are in
   * `webhookHeadersSealed`; a row written before they were sealed holds them here in clear
   * until start-up seals it (see TriggerService.sealPlainHeaders).
   */
  @Property({ type: 'jsonb', fieldName: 'webhook_headers' })
  webhookHeaderMasks: Opt<Record<string, string>> = {};

  /** The extra headers (often a receiver's API key) as sealed JSON, like the signing secret. */
  @Property({ type: 'text', nullable: true, hidden: true })
  webhookHeadersSealed?: string | null;

  @Property({ type: 'text', nullable: true })
  webhookBodyTemplate?: string | null;

  /** The `whsec_` signing secret, sealed with a key derived from JWT_SECRET (see SecretBox). */
  @Property({ type: 'text', hidden: true })
  webhookSecretSealed!: string;

  /** The secret before the last rotation; it keeps signing until `previousSecretExpiresAt`. */
  @Property({ type: 'text', nullable: true, hidden: true })
  previousWebhookSecretSealed?: string | null;

  @Field(() => String, { nullable: true, description: 'Until then the previous secret signs too (after rotateTriggerSecret).' })
  @Property({ type: IsoTimestampType, nullable: true })
  previousSecretExpiresAt?: string | null;
}
