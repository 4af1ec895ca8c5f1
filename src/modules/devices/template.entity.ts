import { Entity, ManyToOne, type Opt, Property, type Ref, Unique } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';
import { Customer } from '../accounts/customer.entity.js';
import type { PartialTripSettings } from './trip-settings.js';

/** Named partial trip settings applied to many devices. */
@ObjectType()
@Entity({ tableName: 'templates' })
@Unique({ properties: ['customer', 'name'] })
export class Template extends UuidEntity {
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'jsonb' })
  settings: Opt<PartialTripSettings> = {};
}
