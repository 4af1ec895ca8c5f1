import { Entity, ManyToOne, Property, type Ref } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';
import { Customer } from './customer.entity.js';

@ObjectType()
@Entity({ tableName: 'users' })
export class User extends UuidEntity {
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  /** Stored lower-case; unique across all customers so login needs no tenant. */
  @Field(() => String)
  @Property({ type: 'text', unique: true })
  email!: string;

  /** `scrypt$N$r$p$salt$hash`, never the password. */
  @Property({ type: 'text', hidden: true })
  passwordHash!: string;
}
