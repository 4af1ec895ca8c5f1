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
import type { EntityManager } from '@mikro-orm/postgresql';
import type { GraphQLResolveInfo } from 'graphql';

import { leanRows, type RelatedRows } from '../lib/lean.js';
import { type GraphQLContext, principalOf } from './context.js';
import { BelowNodes, fieldInfo, loaderOf, selectedColumns, selectedFields, selectionAt } from './selection.js';

type Row = Record<string, unknown>;

/** What every {@link related} field says: which loader its resolver loads through, by which key. */
interface RelatedField {
  /** The column of the parent's row holding the key the field's loader is asked for. */
  readonly parentKey: string;
  /** The kind of the field's loader (see `loaderOf`; its scope is the customer). */
  readonly loader: string;
}

/** How the row of a to-one field is found from its parent's row. */
export interface Related extends RelatedField {
  /** The entity of the field's row, read lean. */
  readonly entity: abstract new (...args: never[]) => object;
  /** Its table, as SQL. */
  readonly table: string;
  /**
   * The condition joining a row `alias` of the table to the parent row `parent`, tenant scope
   * included (`${alias}.trip_id = ${parent}.id AND ${alias}.customer_id = ${parent}.customer_id`):
   * at most one row may match, unless {@link orderBy} picks one.
   */
  on(alias: string, parent: string): string;
  /** The order of the rows matching {@link on}, of which the first is the field's (a device's newest trip). */
  orderBy?(alias: string): string;
}

/**
 * How the value of a scalar field is computed from its parent's row, when it is not a column
 * of it (a device's last upload, an aggregate over another table).
 */
export interface RelatedValue extends RelatedField {
  /** The value for the parent row `parent`, as SQL (a scalar subquery, tenant-scoped through the parent). */
  value(parent: string): string;
  /** The value as the field's loader answers it, from what PostgreSQL sent (null: none). */
  read(value: unknown): unknown;
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

/** The extensions (type-graphql's `@Extensions`) of a field whose row or value may be read with its parent's page. */
export function related(how: Related | RelatedValue): { readonly related: Related | RelatedValue } {
  return { related: how };
}

/**
 * One related field of a page: the alias its columns are read under (its row's columns are
 * `<alias>_<column>`, a value's `<alias>_value`), and the related fields of its own selection,
 * read with it (a task's trip, and that trip's device). It depends on the query alone, not on
 * the customer, and is worked out once per query.
 */
type Joined =
  | {
      readonly kind: 'row';
      /** The field's response key (its alias, or its name). */
      readonly key: string;
      readonly how: Related;
      readonly alias: string;
      readonly columns: readonly string[];
      /** The row's primary key as read (`<alias>_id`): null where the parent has no such row. */
      readonly primary: string;
      readonly below: readonly Joined[];
    }
  | { readonly kind: 'value'; readonly key: string; readonly how: RelatedValue; readonly alias: string };

/**
 * The fields of a page's rows that are read with the page, by response key, each with those
 * of its own row read with it in turn: what prefetch (src/graphql/prefetch.ts) need not load.
 */
export type FieldsReadWithPage = ReadonlyMap<string, FieldsReadWithPage>;

/** What a page's read joins for the related fields its query selects, and hands to their loaders. */
export interface PageRelatedRows extends RelatedRows {
  readonly fields: FieldsReadWithPage;
}

function fieldsOf(joined: readonly Joined[]): FieldsReadWithPage {
  return new Map(joined.map((join) => [join.key, join.kind === 'row' ? fieldsOf(join.below) : new Map()]));
}

/** What a page reads with its rows for the related fields its query selects. */
interface JoinPlan {
  readonly joined: readonly Joined[];
  readonly fields: FieldsReadWithPage;
  /** `RelatedRows.columns`. */
  readonly columns: string;
  /** `RelatedRows.sql` by the page's alias: one string each time, whose hash is kept. */
  readonly sql: Map<string, string>;
}

const isValue = (how: Related | RelatedValue): how is RelatedValue => 'value' in how;

/** By the nodes and type of a page's rows (see `BelowNodes`): its join plan, undefined for none. */
const plans = new BelowNodes<JoinPlan | undefined>();
const PLAN = Symbol('related rows');

/** The related fields selected at `path` below the field of `info`, aliased after `prefix`. */
function joinedAt(em: EntityManager, info: GraphQLResolveInfo, path: readonly string[], prefix: string): Joined[] {
  const selection = selectionAt(info, path);
  if (!selection) return [];
  const joined: Joined[] = [];
  for (const [key, nodes] of selectedFields(info, selection.type, selection.fieldNodes, 'alias')) {
    const how = selection.type.getFields()[nodes[0]!.name.value]?.extensions.related as Related | RelatedValue | undefined;
    if (!how) continue;
    const alias = `${prefix}r${joined.length}`;
    if (isValue(how)) {
      joined.push({ kind: 'value', key, how, alias });
      continue;
    }
    const own = fieldInfo(info, selection.type, key, nodes);
    const columns = own && selectedColumns(em, how.entity, own);
    if (!own || !columns) continue;
    const meta = em.getMetadata().get(how.entity.name);
    const primary = `${alias}_${meta.props.find((prop) => prop.primary)!.fieldNames[0]!}`;
    joined.push({ kind: 'row', key, how, alias, columns, primary, below: joinedAt(em, own, [], alias) });
  }
  return joined;
}

/** The lateral join reading `joined`'s row (and those below it), or its value, for the row aliased `parent`. */
function joinSql(joined: Joined, parent: string): string {
  if (joined.kind === 'value') return `LEFT JOIN LATERAL (SELECT ${joined.how.value(parent)} AS ${joined.alias}_value) ${joined.alias} ON true`;
  const { how, alias, columns, below } = joined;
  const row = `x_${alias}`;
  const selected = [...columns.map((column) => `${row}.${column} AS ${alias}_${column}`), ...below.map((nested) => `${nested.alias}.*`)];
  const nested = below.map((join) => joinSql(join, row)).join(' ');
  const first = how.orderBy ? ` ORDER BY ${how.orderBy(row)} LIMIT 1` : '';
  return `LEFT JOIN LATERAL (SELECT ${selected.join(', ')} FROM ${how.table} ${row} ${nested} WHERE ${how.on(row, parent)}${first}) ${alias} ON true`;
}

/**
 * The rows of the {@link related} fields the operation selects on the nodes at `path` below the
 * page field (`['edges', 'node']` for a connection, `[]` for the field's own objects), and those
 * of the related fields below them, to be read with the page; undefined when there are none. A
 * field whose selection needs every column of its row is loaded as before.
 */
export function relatedRowsAt(ctx: GraphQLContext, info: GraphQLResolveInfo, path: readonly string[]): PageRelatedRows | undefined {
  // A subscription's loaders forget between events: nothing read ahead would be found.
  if (!ctx.cache.remembers) return undefined;
  const selection = selectionAt(info, path);
  if (!selection) return undefined;
  const plan = plans.get(selection.fieldNodes, selection.type, PLAN, () => {
    const joined = joinedAt(ctx.em, info, path, '');
    return joined.length === 0 ? undefined : { joined, fields: fieldsOf(joined), columns: joined.map(({ alias }) => `${alias}.*`).join(', '), sql: new Map<string, string>() };
  });
  if (!plan) return undefined;
  const customerId = principalOf(ctx).customerId;
  return {
    sql: (parent) => {
      let sql = plan.sql.get(parent);
      if (sql === undefined) plan.sql.set(parent, (sql = plan.joined.map((join) => joinSql(join, parent)).join(' ')));
      return sql;
    },
    columns: plan.columns,
    fields: plan.fields,
    read: (rows) => primeRelated(ctx, customerId, plan.joined, '', rows),
  };
}

/**
 * Hands the rows read for `joined` to their fields' loaders, keyed as their resolvers ask (the
 * parent's column, read under `parentPrefix`); null where there is none.
 */
function primeRelated(ctx: GraphQLContext, customerId: string, joined: readonly Joined[], parentPrefix: string, rows: readonly Row[]): void {
  for (const join of joined) {
    const parentKey = `${parentPrefix}${join.how.parentKey}`;
    if (join.kind === 'value') {
      const loader = loaderOf(join.how.loader, customerId, undefined);
      const column = `${join.alias}_value`;
      for (const row of rows) {
        const key = row[parentKey] as string | null | undefined;
        if (key != null) ctx.cache.prime(loader, key, join.how.read(row[column]));
      }
      continue;
    }
    const { how, alias, columns, primary, below } = join;
    const loader = loaderOf(how.loader, customerId, columns);
    const found = rows.filter((row) => row[primary] != null);
    const objects = leanRows(ctx.em, how.entity, found, `${alias}_`);
    let next = 0;
    for (const row of rows) {
      const key = row[parentKey] as string | null | undefined;
      const object = row[primary] == null ? null : objects[next++];
      if (key != null) ctx.cache.prime(loader, key, object);
    }
    if (below.length > 0) primeRelated(ctx, customerId, below, `${alias}_`, found);
  }
}
