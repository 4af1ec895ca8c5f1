import { Entity, Index, ManyToOne, Property, type Ref } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';
import { IsoTimestampType } from '../../db/iso-timestamp.type.js';
import { Delivery } from './delivery.entity.js';

/** One try at sending a delivery, kept whatever its outcome. */
@ObjectType()
@Entity({ tableName: 'delivery_attempts' })
@Index({ properties: ['delivery', 'number'] })
export class DeliveryAttempt extends UuidEntity {
  @ManyToOne(() => Delivery, { ref: true, deleteRule: 'cascade' })
  delivery!: Ref<Delivery>;

  @Field(() => Int, { description: '1 for the first attempt of the delivery.' })
  @Property({ type: 'integer' })
  number!: number;

  @Field(() => String)
  @Property({ type: IsoTimestampType })
  startedAt!: string;

  @Field(() => Int)
  @Property({ type: 'integer' })
  durationMs!: number;

  @Field(() => Boolean)
  @Property({ type: 'boolean' })
  succeeded!: boolean;

  @Field(() => Int, { nullable: true, description: 'HTTP status (webhook) or SMTP reply code (e-mail), when one arrived.' })
  @Property({ type: 'integer', nullable: true })
  statusCode?: number | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  error?: string | null;

  @Field(() => String, { nullable: true, description: "The start of the receiver's answer (at most 1 KiB)." })
  @Property({ type: 'text', nullable: true })
  response?: string | null;
}
