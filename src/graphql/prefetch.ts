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
 *
 * A field whose rows the page's own statement read (src/graphql/related.ts) is answered at once
 * already: its resolver finds them in its loader. Calling it ahead for every row would only do
 * the same work twice (on a page of 20 tasks with each task's trip and that trip's device, a
 * fiftieth of the page's CPU), so such a field is left to graphql-js, unless a field below it
 * still has rows to load.
 */
import { type FieldNode, getNamedType, type GraphQLField, type GraphQLObjectType, type GraphQLResolveInfo, isObjectType } from 'graphql';

import type { ConnectionShape } from '../lib/pagination.js';
import type { GraphQLContext } from './context.js';
import type { FieldsReadWithPage } from './related.js';
import { mapMaybe, type MaybePromise } from './request-cache.js';
import { fieldInfo, selectedFields, selectionAt } from './selection.js';

/**
 * The extensions (type-graphql's `@Extensions`) of a field whose resolver takes no arguments and
 * loads through the request's loaders (`ctx.cache.load`, `loadOwned`), so that calling it for
 * every row of a page costs one batch and calling it again costs nothing.
 */
export const PREFETCH = { prefetch: true } as const;

function addObject(objects: object[], value: unknown): void {
  if (typeof value === 'object' && value !== null) objects.push(value);
}

/** A selected {@link PREFETCH} field: its response key, its nodes, its definition. */
type Prefetchable = readonly [key: string, nodes: readonly FieldNode[], field: GraphQLField<unknown, unknown>];

/** By the (remembered) selection of a type: its fields to prefetch, worked out once per query. */
const prefetchable = new WeakMap<ReadonlyMap<string, readonly FieldNode[]>, readonly Prefetchable[]>();

function prefetchableOf(info: GraphQLResolveInfo, type: GraphQLObjectType, fieldNodes: readonly FieldNode[]): readonly Prefetchable[] {
  const selected = selectedFields(info, type, fieldNodes, 'alias');
  let found = prefetchable.get(selected);
  if (!found) {
    const fields = type.getFields();
    found = [...selected].flatMap(([key, nodes]): Prefetchable[] => {
      const field = fields[nodes[0]!.name.value];
      return field?.resolve && field.extensions.prefetch === true && field.args.length === 0 ? [[key, nodes, field]] : [];
    });
    prefetchable.set(selected, found);
  }
  return found;
}

/** By the fields read with a page below one of its fields: whether nothing below is left to prefetch. */
const covered = new WeakMap<FieldsReadWithPage, boolean>();

/**
 * Whether the field `key` of an object of `type`, read with the page (`read`: what was read with
 * it), needs no prefetch: nor does any {@link PREFETCH} field below it, all read with it too.
 */
function readWholeWithPage(info: GraphQLResolveInfo, type: GraphQLObjectType, [key, nodes, field]: Prefetchable, read: FieldsReadWithPage): boolean {
  let whole = covered.get(read);
  if (whole === undefined) {
    const childType = getNamedType(field.type);
    const own = fieldInfo(info, type, key, nodes)!;
    whole = !isObjectType(childType) || prefetchableOf(own, childType, nodes).every((below) => readWithPage(own, childType, below, read));
    covered.set(read, whole);
  }
  return whole;
}

/** Whether the page's statement read `field` of an object of `type`, and everything below it prefetch would load. */
function readWithPage(info: GraphQLResolveInfo, type: GraphQLObjectType, field: Prefetchable, read: FieldsReadWithPage | undefined): boolean {
  const own = read?.get(field[0]);
  return own !== undefined && readWholeWithPage(info, type, field, own);
}

/**
 * Resolves every selected {@link PREFETCH} field of `parents` (all of type `type`, selected by
 * `fieldNodes`), then the same below. Each resolver gets the info graphql-js would hand it (its
 * own field's nodes), so what it reads for the selection is what graphql-js's call will ask for.
 * Nothing to wait for (every row at hand already, as rows read with their page are) is no promise.
 * `read`: the fields read with the page's rows (see {@link FieldsReadWithPage}).
 */
function prefetchFields(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  type: GraphQLObjectType,
  parents: readonly object[],
  fieldNodes: readonly FieldNode[],
  read: FieldsReadWithPage | undefined,
): MaybePromise<void> {
  const pending: Promise<void>[] = [];
  for (const prefetchable of prefetchableOf(info, type, fieldNodes)) {
    if (readWithPage(info, type, prefetchable, read)) continue;
    const [key, nodes, field] = prefetchable;
    const own = fieldInfo(info, type, key, nodes)!;
    const resolve = field.resolve!;
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
    const childType = getNamedType(field.type);
    const below = (values: readonly unknown[]): MaybePromise<void> => {
      const children: object[] = [];
      for (const value of values) {
        // A list field's value is a list of objects.
        if (Array.isArray(value)) for (const item of value as unknown[]) addObject(children, item);
        else addObject(children, value);
      }
      return children.length > 0 && isObjectType(childType) ? prefetchFields(ctx, own, childType, children, nodes, read?.get(key)) : undefined;
    };
    const done = waiting ? Promise.all(found).then(below) : below(found);
    if (done instanceof Promise) pending.push(done);
  }
  return pending.length === 0 ? undefined : pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
}

/** What a page's statement read with its rows (`relatedRowsAt`, src/graphql/related.ts); nothing when undefined. */
export interface ReadWithPage {
  readonly fields: FieldsReadWithPage;
}

/**
 * Loads, for all `nodes` at once, the {@link PREFETCH} fields the operation selects on them,
 * but those the page's statement read with them (`read`, the related rows it was given).
 * `path` leads from the resolved field to the nodes: `[]` for a list field, `['edges', 'node']`
 * for a connection.
 */
export function prefetchNodes(ctx: GraphQLContext, info: GraphQLResolveInfo, nodes: readonly object[], path: readonly string[], read?: ReadWithPage): MaybePromise<void> {
  // A subscription's loaders forget between events: loading ahead would load twice.
  if (nodes.length === 0 || !ctx.cache.remembers) return undefined;
  const selection = selectionAt(info, path);
  return selection && prefetchFields(ctx, info, selection.type, nodes, selection.fieldNodes, read?.fields);
}

/** {@link prefetchNodes} for the nodes of a connection; answers the connection. */
export function prefetchConnection<T extends object>(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  connection: ConnectionShape<T>,
  read?: ReadWithPage,
): MaybePromise<ConnectionShape<T>> {
  const nodes = connection.edges.map((edge) => edge.node);
  return mapMaybe(prefetchNodes(ctx, info, nodes, ['edges', 'node'], read), () => connection);
}

/** {@link prefetchNodes} for a list field's items; answers the list. */
export function prefetchList<T extends object>(ctx: GraphQLContext, info: GraphQLResolveInfo, items: T[], read?: ReadWithPage): MaybePromise<T[]> {
  return mapMaybe(prefetchNodes(ctx, info, items, [], read), () => items);
}
