import type { EntityManager } from '@mikro-orm/postgresql';

import { notFound } from '../lib/errors.js';
import { ownedByIds } from '../lib/ownership.js';
import type { Principal } from '../lib/principal.js';
import { mapMaybe, type MaybePromise, type RequestCache } from './request-cache.js';
import { loaderOf } from './selection.js';

/** The resolver instances, each built with the services it uses (the wiring, `src/schema.ts`). */
export interface ResolverContainer {
  get<T>(resolverClass: abstract new (...args: never[]) => T): T;
}

/** Built once per GraphQL operation (HTTP) or per subscription event (WebSocket). */
export interface GraphQLContext {
  /** A fork of the ORM's EntityManager private to this operation. */
  readonly em: EntityManager;
  readonly principal: Principal | undefined;
  /** For a subscription's `subscribe` function, which type-graphql runs outside the resolver instance. */
  readonly resolvers: ResolverContainer;
  /** What this operation loaded already: repeated and aliased fields do not query again. */
  readonly cache: RequestCache;
}

/** The principal of an operation that passed `@Authorized()`. */
export function principalOf(ctx: GraphQLContext): Principal {
  if (!ctx.principal) throw new Error('principalOf() used on a resolver without @Authorized()');
  return ctx.principal;
}

/**
 * The row `id` of a customer, loaded in one query with every other row of that entity the
 * operation's fields ask for in the same tick, and only once per operation; at once when it
 * was loaded already. `columns` (a selection's, `selectedColumns`) reads only those, and rows
 * read with other columns are another loader's.
 */
export function loadOwned<T extends { id: string }>(
  ctx: GraphQLContext,
  entity: { readonly name: string; new (...args: never[]): T },
  customerId: string,
  id: string,
  columns?: readonly string[],
): MaybePromise<T> {
  const row = ctx.cache.load(loaderOf(entity.name, customerId, columns), id, (ids: readonly string[]) => ownedByIds<T>(ctx.em, entity, customerId, ids, columns));
  const found = (loaded: T | null): T => {
    if (!loaded) throw notFound(entity.name);
    return loaded;
  };
  return mapMaybe(row, found);
}
