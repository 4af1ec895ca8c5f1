import { Entity, ManyToOne, Property, type Ref } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';

import { UuidEntity } from '../../db/base.entity.js';
import { IsoTimestampType } from '../../db/iso-timestamp.type.js';
import { Customer } from './customer.entity.js';
import { User } from './user.entity.js';

/** A long-lived script credential. Only the SHA-256 of the secret is kept. */
@ObjectType()
@Entity({ tableName: 'api_tokens' })
export class ApiToken extends UuidEntity {
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  @ManyToOne(() => User, { ref: true, deleteRule: 'cascade' })
  user!: Ref<User>;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  /** The first characters of the token, shown in listings so users can tell tokens apart. */
  @Field(() => String)
  @Property({ type: 'text' })
  prefix!: string;

  @Property({ type: 'text', unique: true, hidden: true })
  tokenHash!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  expiresAt?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  lastUsedAt?: string | null;

  @Property({ type: IsoTimestampType, nullable: true })
  revokedAt?: string | null;
}
