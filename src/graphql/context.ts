import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../modules/accounts/principal.js';
import type { Services } from '../services.js';

/** Built once per GraphQL operation (HTTP) or per subscription event (WebSocket). */
export interface GraphQLContext {
  /** A fork of the ORM's EntityManager private to this operation. */
  readonly em: EntityManager;
  readonly principal: Principal | undefined;
  readonly services: Services;
}

/** The principal of an operation that passed `@Authorized()`. */
export function principalOf(ctx: GraphQLContext): Principal {
  if (!ctx.principal) throw new Error('principalOf() used on a resolver without @Authorized()');
  return ctx.principal;
}
