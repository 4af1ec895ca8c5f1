import { Entity, Property } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';

/** A tenant: every other object belongs to exactly one customer. */
@ObjectType()
@Entity({ tableName: 'customers' })
export class Customer extends UuidEntity {
  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;
}
