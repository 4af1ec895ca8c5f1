import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum TripChange {
  STARTED = 'started',
  ENDED = 'ended',
  REOPENED = 'reopened',
}
registerEnumType(TripChange, { name: 'TripChange', description: 'REOPENED: a start within the reopen limit after the end; the trip is in progress again.' });

@ObjectType({ description: 'A trip started, ended or reopened.' })
export class TripUpdatedEvent {
  @Field(() => ID)
  tripId!: string;

  @Field(() => ID)
  deviceId!: string;

  @Field(() => TripChange)
  change!: TripChange;

  @Field(() => String)
  startTimeUtc!: string;

  @Field(() => String, { nullable: true, description: 'Null while the trip is in progress.' })
  endTimeUtc!: string | null;

  @Field(() => String)
  occurredAt!: string;
}
