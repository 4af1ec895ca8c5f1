/**
 * Related rows of a whole page loaded before graphql-js asks for them, row by row.
 *
 * A field such as `Trip.task` is resolved once per trip of a page. Through the request's
 * loaders that is already one statement for the page, but each row's resolver still answers a
 * promise, and graphql-js then waits on a promise per row and per object holding one: on a
 * 20-row page that was as much CPU as the page's own query (bench/results.md, "API reads").
 * A list resolver that has its rows calls {@link prefetchNodes}: every field of the rows that
 * the operation selects and that is marked {@link PREFETCH} is resolved for all rows at once,
 * and so on down the selection (a device's latest trip, then that trip's task). The loaders
 * remember what the batches answered ({@link RequestCache.load}), so when graphql-js resolves
 * the same fields afterwards each answers its value at once.
 */
import { type FieldNode, getNamedType, type GraphQLObjectType, type GraphQLResolveInfo, isObjectType } from 'graphql';

import type { ConnectionShape } from '../lib/pagination.js';
import type { GraphQLContext } from './context.js';
import { fieldInfo, selectedFields, selectionAt } from './selection.js';

/**
 * The extensions (type-graphql's `@Extensions`) of a field whose resolver takes no arguments and
 * loads through the request's loaders (`ctx.cache.load`, `loadOwned`), so that calling it for
 * every row of a page costs one batch and calling it again costs nothing.
 */
export const PREFETCH = { prefetch: true } as const;

/**
 * Resolves every selected {@link PREFETCH} field of `parents` (all of type `type`, selected by
 * `fieldNodes`), then the same below. Each resolver gets the info graphql-js would hand it (its
 * own field's nodes), so what it reads for the selection is what graphql-js's call will ask for.
 */
async function prefetchFields(ctx: GraphQLContext, info: GraphQLResolveInfo, type: GraphQLObjectType, parents: readonly object[], fieldNodes: readonly FieldNode[]) {
  const fields = type.getFields();
  await Promise.all(
    [...selectedFields(info, type, fieldNodes, 'alias')].map(async ([key, nodes]) => {
      const field = fields[nodes[0]!.name.value];
      const own = fieldInfo(info, type, key, nodes);
      if (!field?.resolve || !own || field.extensions.prefetch !== true || field.args.length > 0) return;
      const resolve = field.resolve;
      // A row whose field fails (a reference to a row that is gone) fails again, with its path,
      // when graphql-js resolves it: here it is only not prefetched. A value at hand needs no promise.
      let waiting = false;
      const found = parents.map((parent): unknown => {
        try {
          const value: unknown = resolve(parent, {}, ctx, own);
          if (!(value instanceof Promise)) return value;
          waiting = true;
          return value.catch(() => undefined);
        } catch {
          return undefined;
        }
      });
      const values = waiting ? await Promise.all(found) : found;
      const childType = getNamedType(field.type);
      const children = values.flat().filter((value): value is object => typeof value === 'object' && value !== null);
      if (children.length > 0 && isObjectType(childType)) await prefetchFields(ctx, own, childType, children, nodes);
    }),
  );
}

/**
 * Loads, for all `nodes` at once, the {@link PREFETCH} fields the operation selects on them.
 * `path` leads from the resolved field to the nodes: `[]` for a list field, `['edges', 'node']`
 * for a connection.
 */
export async function prefetchNodes(ctx: GraphQLContext, info: GraphQLResolveInfo, nodes: readonly object[], path: readonly string[]): Promise<void> {
  // A subscription's loaders forget between events: loading ahead would load twice.
  if (nodes.length === 0 || !ctx.cache.remembers) return;
  const selection = selectionAt(info, path);
  if (selection) await prefetchFields(ctx, info, selection.type, nodes, selection.fieldNodes);
}

/** {@link prefetchNodes} for the nodes of a connection; answers the connection. */
export async function prefetchConnection<T extends object>(ctx: GraphQLContext, info: GraphQLResolveInfo, connection: ConnectionShape<T>): Promise<ConnectionShape<T>> {
  await prefetchNodes(
    ctx,
    info,
    connection.edges.map((edge) => edge.node),
    ['edges', 'node'],
  );
  return connection;
}

/** {@link prefetchNodes} for a list field's items; answers the list. */
export async function prefetchList<T extends object>(ctx: GraphQLContext, info: GraphQLResolveInfo, items: T[]): Promise<T[]> {
  await prefetchNodes(ctx, info, items, []);
  return items;
}
