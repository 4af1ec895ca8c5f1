import type { AuthChecker } from 'type-graphql';

import { unauthenticated } from '../lib/errors.js';
import type { GraphQLContext } from './context.js';

/** `@Authorized()` means "a user of some customer"; tenant scoping happens in the services. */
export const authChecker: AuthChecker<GraphQLContext> = ({ context }) => {
  if (!context.principal) throw unauthenticated();
  return true;
};
