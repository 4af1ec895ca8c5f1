import { Entity, Index, ManyToOne, type Opt, Property, type Ref } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';
import { IsoTimestampType } from '../../db/iso-timestamp.type.js';
import { Customer } from '../accounts/customer.entity.js';
import { Template } from './template.entity.js';
import type { PartialTripSettings } from './trip-settings.js';

@ObjectType()
@Entity({ tableName: 'devices' })
export class Device extends UuidEntity {
  @Index()
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  /** The device's unit id, written into every record as `@uid`. */
  @Field(() => String)
  @Property({ type: 'uuid', unique: true })
  unitId!: string;

  /** Written into every record as `@vid`. */
  @Field(() => Int)
  @Property({ type: 'integer' })
  vehicleId!: number;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @ManyToOne(() => Template, { ref: true, nullable: true, deleteRule: 'set null' })
  template?: Ref<Template> | null;

  /** The device's own overrides; see `effectiveSettings`. */
  @Property({ type: 'jsonb' })
  settings: Opt<PartialTripSettings> = {};

  @Property({ type: 'text', unique: true, hidden: true })
  uploadTokenHash!: string;

  /** `@ts` of the newest event applied to trips; older events no longer change trips. */
  @Property({ type: IsoTimestampType, nullable: true })
  lastEventTs?: string | null;
}
