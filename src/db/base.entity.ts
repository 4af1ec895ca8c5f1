import { randomUUID } from 'node:crypto';

import { type Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';

import { nowIso } from '../lib/time.js';
import { IsoTimestampType } from './iso-timestamp.type.js';

/** uuid primary key and creation time, shared by every entity keyed by uuid. */
@ObjectType()
export abstract class UuidEntity {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: Opt<string> = randomUUID();

  @Field(() => String)
  @Property({ type: IsoTimestampType, defaultRaw: 'now()' })
  createdAt: Opt<string> = nowIso();
}
