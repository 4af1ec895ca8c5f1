import { Field, ID, ObjectType } from 'type-graphql';

import { ApiToken } from './api-token.entity.js';
import { Customer } from './customer.entity.js';

@ObjectType()
export class Me {
  @Field(() => ID)
  userId!: string;

  @Field(() => String)
  email!: string;

  @Field(() => Customer)
  customer!: Customer;

  @Field(() => String, { description: '"jwt" or "api_token"' })
  authenticatedVia!: string;
}

@ObjectType()
export class CreateApiTokenPayload {
  @Field(() => ApiToken)
  apiToken!: ApiToken;

  @Field(() => String, { description: 'The token itself; shown only once.' })
  token!: string;
}
