import { Entity, Enum, Index, ManyToOne, type Opt, Property, type Ref } from '@mikro-orm/core';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';
import { IsoTimestampType } from '../../db/iso-timestamp.type.js';
import { Customer } from '../accounts/customer.entity.js';
import { Device } from '../devices/device.entity.js';

export enum TripState {
  IN_PROGRESS = 'in_progress',
  COMPLETED = 'completed',
}
registerEnumType(TripState, { name: 'TripState' });

@ObjectType()
@Entity({ tableName: 'trips' })
@Index({ properties: ['device', 'startTimeUtc'] })
@Index({ properties: ['customer', 'startTimeUtc'] })
// At most one trip in progress per device, whatever the application does.
@Index({
  name: 'trips_one_open_per_device',
  expression: `create unique index "trips_one_open_per_device" on "trips" ("device_id") where "state" = 'in_progress'`,
})
export class Trip extends UuidEntity {
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  @ManyToOne(() => Device, { ref: true, deleteRule: 'cascade' })
  device!: Ref<Device>;

  @Field(() => String)
  @Property({ type: IsoTimestampType })
  startTimeUtc!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  endTimeUtc?: string | null;

  @Field(() => TripState)
  @Enum({ items: () => TripState, nativeEnumName: 'trip_state' })
  state: Opt<TripState> = TripState.IN_PROGRESS;

  /** Ended by a final tag: can never be reopened. */
  @Field(() => Boolean)
  @Property({ type: 'boolean' })
  finalEnd: Opt<boolean> = false;

  /** How many times the trip has ended (first end plus every end after a reopen). */
  @Field(() => Int)
  @Property({ type: 'integer' })
  endCount: Opt<number> = 0;

  @Field(() => Float, { nullable: true })
  @Property({ type: 'double precision', nullable: true })
  startLat?: number | null;

  @Field(() => Float, { nullable: true })
  @Property({ type: 'double precision', nullable: true })
  startLng?: number | null;

  @Field(() => Float, { nullable: true })
  @Property({ type: 'double precision', nullable: true })
  endLat?: number | null;

  @Field(() => Float, { nullable: true })
  @Property({ type: 'double precision', nullable: true })
  endLng?: number | null;

  @Field(() => Float)
  @Property({ type: 'double precision' })
  distanceKm: Opt<number> = 0;
}
