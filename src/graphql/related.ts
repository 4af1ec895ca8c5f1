/**
 * The object of a to-one field read in its parent page's own statement.
 *
 * A page of 20 trips with each trip's task was three statements: authentication, the page (with
 * its count), and the tasks of the page, loaded ahead by prefetch (src/graphql/prefetch.ts). Each
 * statement costs the service a round trip to PostgreSQL (a write that wakes a backend, its
 * answer parsed, a pooled connection taken and given back): on this machine that one statement
 * was about a seventh of the page's CPU. A field marked {@link related} says how its row joins
 * the row of its parent; a page resolver asks {@link relatedRowsAt} for the fields its selection
 * holds and hands the answer to the page's read (`leanPage`), which joins those rows in and gives
 * them to the request's loaders before graphql-js asks for them. The field's resolver loads
 * through the same loader (`Related.loader`), so it finds them at once; without a join (a
 * subscription, another page, a selection of every column) it loads them as before.
 */
import type { GraphQLResolveInfo } from 'graphql';

import { leanRows, type RelatedRows } from '../lib/lean.js';
import { type GraphQLContext, principalOf } from './context.js';
import { fieldInfo, loaderOf, selectedColumns, selectedFields, selectionAt } from './selection.js';

type Row = Record<string, unknown>;

/** How the row of a to-one field is found from its parent's row. */
export interface Related {
  /** The entity of the field's row, read lean. */
  readonly entity: abstract new (...args: never[]) => object;
  /** Its table, as SQL. */
  readonly table: string;
  /**
   * The condition joining a row `alias` of the table to the parent row `parent`, tenant scope
   * included (`${alias}.trip_id = ${parent}.id AND ${alias}.customer_id = ${parent}.customer_id`):
   * at most one row may match.
   */
  on(alias: string, parent: string): string;
  /** The column of the parent's row holding the key the field's loader is asked for. */
  readonly parentKey: string;
  /** The kind of the field's loader (see `loaderOf`; its scope is the customer). */
  readonly loader: string;
}

/**
 * The row a field loads with `loadOwned` (src/graphql/context.ts) by the id in its parent's
 * column `parentKey`: the row of `table` with that id, of the parent's customer.
 */
export function ownedRow(entity: Related['entity'], table: string, parentKey: string): Related {
  return {
    entity,
    table,
    on: (row, parent) => `${row}.id = ${parent}.${parentKey} AND ${row}.customer_id = ${parent}.customer_id`,
    parentKey,
    // loadOwned's loader.
    loader: entity.name,
  };
}

/** The extensions (type-graphql's `@Extensions`) of a field whose row may be read with its parent's page. */
export function related(how: Related): { readonly related: Related } {
  return { related: how };
}

/**
 * One related field of a page: the alias its columns are read under (its row's columns are
 * `<alias>_<column>`), the loader they fill, and the related fields of its own selection, read
 * with it (a task's trip, and that trip's device).
 */
interface Joined {
  readonly how: Related;
  readonly alias: string;
  readonly columns: readonly string[];
  readonly loader: string;
  readonly below: readonly Joined[];
}

/** The related fields selected at `path` below the field of `info`, aliased after `prefix`. */
function joinedAt(ctx: GraphQLContext, customerId: string, info: GraphQLResolveInfo, path: readonly string[], prefix: string): Joined[] {
  const selection = selectionAt(info, path);
  if (!selection) return [];
  const joined: Joined[] = [];
  for (const [key, nodes] of selectedFields(info, selection.type, selection.fieldNodes, 'alias')) {
    const how = selection.type.getFields()[nodes[0]!.name.value]?.extensions.related as Related | undefined;
    const own = how && fieldInfo(info, selection.type, key, nodes);
    const columns = own && selectedColumns(ctx.em, how.entity, own);
    if (!how || !own || !columns) continue;
    const alias = `${prefix}r${joined.length}`;
    joined.push({ how, alias, columns, loader: loaderOf(how.loader, customerId, columns), below: joinedAt(ctx, customerId, own, [], alias) });
  }
  return joined;
}

/** The lateral join reading `joined`'s row (and those below it) for the row aliased `parent`. */
function joinSql({ how, alias, columns, below }: Joined, parent: string): string {
  const row = `x_${alias}`;
  const selected = [...columns.map((column) => `${row}.${column} AS ${alias}_${column}`), ...below.map((nested) => `${nested.alias}.*`)];
  const nested = below.map((join) => joinSql(join, row)).join(' ');
  return `LEFT JOIN LATERAL (SELECT ${selected.join(', ')} FROM ${how.table} ${row} ${nested} WHERE ${how.on(row, parent)}) ${alias} ON true`;
}

/**
 * The rows of the {@link related} fields the operation selects on the nodes at `path` below the
 * page field (`['edges', 'node']` for a connection, `[]` for the field's own objects), and those
 * of the related fields below them, to be read with the page; undefined when there are none. A
 * field whose selection needs every column of its row is loaded as before.
 */
export function relatedRowsAt(ctx: GraphQLContext, info: GraphQLResolveInfo, path: readonly string[]): RelatedRows | undefined {
  // A subscription's loaders forget between events: nothing read ahead would be found.
  if (!ctx.cache.remembers) return undefined;
  const joined = joinedAt(ctx, principalOf(ctx).customerId, info, path, '');
  if (joined.length === 0) return undefined;
  return {
    sql: (parent) => joined.map((join) => joinSql(join, parent)).join(' '),
    columns: joined.map(({ alias }) => `${alias}.*`).join(', '),
    read: (rows) => primeRelated(ctx, joined, '', rows),
  };
}

/**
 * Hands the rows read for `joined` to their fields' loaders, keyed as their resolvers ask (the
 * parent's column, read under `parentPrefix`); null where there is none.
 */
function primeRelated(ctx: GraphQLContext, joined: readonly Joined[], parentPrefix: string, rows: readonly Row[]): void {
  for (const { how, alias, loader, below } of joined) {
    const meta = ctx.em.getMetadata().get(how.entity.name);
    const prefix = `${alias}_`;
    const primary = `${prefix}${meta.props.find((prop) => prop.primary)!.fieldNames[0]!}`;
    const found = rows.filter((row) => row[primary] != null);
    const objects = leanRows(ctx.em, how.entity, found, prefix);
    const parentKey = `${parentPrefix}${how.parentKey}`;
    let next = 0;
    for (const row of rows) {
      const key = row[parentKey] as string | null | undefined;
      const object = row[primary] == null ? null : objects[next++];
      if (key != null) ctx.cache.prime(loader, key, object);
    }
    if (below.length > 0) primeRelated(ctx, below, prefix, found);
  }
}
