import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

import { connectionType } from '../../lib/pagination.js';
import { Device } from '../devices/device.entity.js';
import { Trip } from '../trips/trip.entity.js';

@ObjectType({ description: 'The export task as it was when announced.' })
export class AnnouncedTask {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  state!: string;

  @Field(() => String)
  createdAt!: string;
}

@ObjectType({ description: 'What the export produced.' })
class AnnouncedResult {
  @Field(() => Float, { description: 'Size of TRIP_ID.json.gz in bytes.' })
  bytes!: number;

  @Field(() => String)
  sha256!: string;

  @Field(() => Int)
  records!: number;

  @Field(() => String, { nullable: true })
  firstTs?: string | null;

  @Field(() => String, { nullable: true })
  lastTs?: string | null;

  @Field(() => String, { description: 'Signed link that downloads the file without other credentials until it expires.' })
  downloadUrl!: string;
}

@ObjectType()
export class TripExportFinishedEvent {
  @Field(() => ID, { description: 'The announcement id; a re-announcement has a new one.' })
  eventId!: string;

  @Field(() => String, {
    description: "Where this event stands in the customer's announcements: pass it as `after` to tripExportFinished or tripExportEvents to get what came after it.",
  })
  cursor!: string;

  @Field(() => String, {
    description: '"finished" for the first export of the trip, "updated" for a later one (its file replaces the last), "reannounce" for the daily reminder.',
  })
  reason!: string;

  @Field(() => Int, { description: 'The revision of the file announced: 1 for the first export, 2, 3 ... for later ones.' })
  revision!: number;

  @Field(() => String)
  occurredAt!: string;

  @Field(() => AnnouncedTask)
  task!: AnnouncedTask;

  @Field(() => Trip)
  trip!: Trip;

  @Field(() => Device)
  device!: Device;

  @Field(() => AnnouncedResult)
  result!: AnnouncedResult;
}

export const TripExportEventConnection = connectionType(TripExportFinishedEvent, 'TripExportEvent');
