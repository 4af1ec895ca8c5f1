import { BigIntType, Entity, Enum, Index, ManyToOne, type Opt, Property, type Ref, Unique } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';
import { IsoTimestampType } from '../../db/iso-timestamp.type.js';
import { Customer } from '../accounts/customer.entity.js';
import { DeliveryChannel, Trigger } from '../triggers/trigger.entity.js';
import { Signal, type SignalReason } from './signal.entity.js';

export enum DeliveryState {
  /** Waiting for its next attempt (`nextAttemptAt`). */
  PENDING = 'pending',
  /** An instance has claimed it and is sending right now. */
  SENDING = 'sending',
  DELIVERED = 'delivered',
  /** Retries exhausted, the receiver answered 410, or the trigger was disabled. */
  FAILED = 'failed',
}
registerEnumType(DeliveryState, { name: 'DeliveryState' });

/**
 * One announcement (a signal) to one action (webhook or e-mail) of one trigger. The unique
 * key makes fan-out idempotent: however many instances look at a signal, each action gets
 * one delivery.
 */
@ObjectType()
@Entity({ tableName: 'deliveries' })
@Unique({ properties: ['signal', 'trigger', 'channel'] })
@Index({ properties: ['state', 'nextAttemptAt'] })
@Index({ properties: ['customer', 'createdAt'] })
@Index({ properties: ['trigger', 'createdAt'] })
export class Delivery extends UuidEntity {
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  @ManyToOne(() => Signal, { ref: true, deleteRule: 'cascade' })
  signal!: Ref<Signal>;

  @ManyToOne(() => Trigger, { ref: true, deleteRule: 'cascade' })
  trigger!: Ref<Trigger>;

  @Field(() => DeliveryChannel)
  @Enum({ items: () => DeliveryChannel, nativeEnumName: 'delivery_channel' })
  channel!: DeliveryChannel;

  @Field(() => ID, { nullable: true, description: 'The export task announced; none for a device event.' })
  // Nullable bigint columns load as JS bigint unless told: keep the id a string like elsewhere.
  @Property({ type: new BigIntType('string'), nullable: true })
  taskId?: string | null;

  @Field(() => String, { description: '"finished", "updated" or "reannounce" (see tripExportFinished); "event" for a device event.' })
  @Property({ type: 'text' })
  reason!: SignalReason;

  @Field(() => DeliveryState)
  @Enum({ items: () => DeliveryState, nativeEnumName: 'delivery_state' })
  state: Opt<DeliveryState> = DeliveryState.PENDING;

  @Field(() => Int, { description: 'Attempts made so far, redeliveries included.' })
  @Property({ type: 'integer' })
  attempts: Opt<number> = 0;

  /** Attempts since the delivery was last queued; indexes the retry schedule. */
  @Property({ type: 'integer', hidden: true })
  attemptsInRun: Opt<number> = 0;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  nextAttemptAt?: string | null;

  /** While SENDING: when another instance may assume this one died and take over. */
  @Property({ type: IsoTimestampType, nullable: true, hidden: true })
  leaseExpiresAt?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  lastAttemptAt?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  deliveredAt?: string | null;

  @Field(() => Int, { nullable: true })
  @Property({ type: 'integer', nullable: true })
  lastStatusCode?: number | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  lastError?: string | null;
}
