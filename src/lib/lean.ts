import { type EntityMetadata, type EntityProperty, type Platform, ReferenceKind } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

import { readRows } from './prepared-reads.js';

/**
 * Read paths without the ORM's hydration. `em.find` costs about 0.1 ms of CPU per entity
 * (hydration, identity map, change-set snapshot) and the query builder 0.7 ms per query: a page
 * of 20 trips took 2.6 ms against 0.5 ms for the same SQL (bench/results.md, "API reads").
 * A page that is only read and sent back needs none of it, so the read paths run their SQL
 * and turn each row into a plain object with the entity's property names and JS values.
 *
 * A lean object is a snapshot, not a managed entity: changing it writes nothing, and of each
 * reference it holds only the id ({@link LeanReference}). Mutations load entities the usual way.
 * It is an instance of the entity class (see {@link leanPrototype}), built without its
 * constructor.
 */

/** A reference of a lean object: the id of the row it points to, nothing loaded. */
export class LeanReference {
  constructor(readonly id: string | number) {}

  /** Nothing behind it to unwrap: say so rather than hand back undefined. */
  unwrap(): never {
    throw new Error(`a lean object's reference holds only its id (${this.id}); load the row if you need more`);
  }

  getEntity(): never {
    return this.unwrap();
  }

  load(): never {
    return this.unwrap();
  }

  isInitialized(): false {
    return false;
  }
}

type Row = Record<string, unknown>;
type Mapper = (row: Row) => unknown;

/** By entity, by the prefix of the column names read (see {@link leanRows}). */
const mappers = new WeakMap<EntityMetadata, Map<string, Mapper>>();
const prototypes = new WeakMap<EntityMetadata, object>();

/** One column each: scalars converted by their ORM type, many-to-one and owning one-to-one as references. */
function columnsOf(meta: EntityMetadata): EntityProperty[] {
  return meta.props.filter(
    (prop) =>
      prop.persist !== false &&
      prop.fieldNames?.length === 1 &&
      (prop.kind === ReferenceKind.SCALAR || prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner)),
  );
}

/**
 * The prototype of an entity's lean objects: the entity's own, so `instanceof` holds (type-graphql
 * would otherwise build a `new Entity()` for every `@Root()` it hands a field resolver), with
 * every column shadowed by a plain writable slot, so assigning one creates an own property
 * instead of running the ORM's change-tracking setters. `toJSON` answers the columns, not the
 * ORM's serialisation of a managed entity.
 */
function leanPrototype(meta: EntityMetadata, columns: readonly EntityProperty[]): object {
  const proto = Object.create(meta.prototype as object) as object;
  for (const prop of columns) Object.defineProperty(proto, prop.name, { value: undefined, writable: true, enumerable: false, configurable: true });
  Object.defineProperty(proto, 'toJSON', {
    value(this: Row) {
      return { ...this };
    },
  });
  return proto;
}

/**
 * The function that turns a row into a lean object, written out for the entity: one straight
 * store per column into an object of one shape. It is generated from the entity's metadata
 * (property and column names, never data) because a loop calling a closure per column to write
 * `out[name]` was the largest item of the mapping: a keyed store whose name changes at every
 * call is one V8 cannot specialise.
 */
function mapperOf(meta: EntityMetadata, platform: Platform, prefix: string): Mapper {
  let byPrefix = mappers.get(meta);
  if (!byPrefix) mappers.set(meta, (byPrefix = new Map<string, Mapper>()));
  let mapper = byPrefix.get(prefix);
  if (mapper) return mapper;
  const props = columnsOf(meta);
  const converters: ((value: unknown) => unknown)[] = [];
  const stores = props.map((prop) => {
    const field = `row[${JSON.stringify(prefix + prop.fieldNames[0]!)}]`;
    const slot = `out[${JSON.stringify(prop.name)}]`;
    if (prop.kind !== ReferenceKind.SCALAR) return `v = ${field}; ${slot} = v == null ? null : new Reference(v);`;
    const type = prop.customType;
    if (!type) return `${slot} = ${field};`;
    converters.push((value) => type.convertToJSValue(value, platform));
    return `${slot} = convert[${converters.length - 1}](${field});`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- code from the entity's metadata only, see above.
  const build = new Function('proto', 'Reference', 'convert', `return function lean(row) { const out = Object.create(proto); let v; ${stores.join(' ')} return out; };`) as (
    proto: object,
    reference: typeof LeanReference,
    convert: readonly ((value: unknown) => unknown)[],
  ) => Mapper;
  let proto = prototypes.get(meta);
  if (!proto) prototypes.set(meta, (proto = leanPrototype(meta, props)));
  mapper = build(proto, LeanReference, converters);
  byPrefix.set(prefix, mapper);
  return mapper;
}

/**
 * Rows of `entity`'s table as lean objects: every column, or those a selection reads (see
 * {@link columnList}; the others are undefined). With a `prefix`, each column is read under its
 * name with that prefix (`r0_state`): a row read with another table's row (see {@link RelatedRows}).
 */
export function leanRows<T extends object>(em: EntityManager, entity: abstract new (...args: never[]) => T, rows: readonly Row[], prefix = ''): T[] {
  const map = mapperOf(em.getMetadata().get(entity.name), em.getPlatform(), prefix);
  return rows.map((row) => map(row) as T);
}

/** Runs the read `sql` (see {@link readRows}: `?` placeholders, a list as `= ANY(?)`) and answers lean objects. */
export async function leanQuery<T extends object>(em: EntityManager, entity: abstract new (...args: never[]) => T, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  return leanRows(em, entity, await readRows(em, sql, params));
}

/**
 * What a read selects of the table aliased `alias`: every column, or only `columns` (a GraphQL
 * selection's, see `selectedColumns` in src/graphql/selection.ts; a lean object leaves the others
 * undefined).
 */
export function columnList(alias: string, columns?: readonly string[]): string {
  return columns ? columns.map((column) => `${alias}.${column}`).join(', ') : `${alias}.*`;
}

/** The quoted table name of `entity`, for SQL written by hand. */
export function tableOf(em: EntityManager, entity: abstract new (...args: never[]) => unknown): string {
  return `"${em.getMetadata().get(entity.name).tableName}"`;
}

/**
 * `AND`-joined SQL conditions and their values, in order: what the hand-written read queries
 * build their `WHERE` from.
 */
export class Conditions {
  private readonly parts: string[] = [];
  readonly values: unknown[] = [];

  and(sql: string, ...values: unknown[]): this {
    this.parts.push(sql);
    this.values.push(...values);
    return this;
  }

  /** The conditions joined by AND (`true` when there are none); its `?` take {@link values} in order. */
  get sql(): string {
    return this.parts.length ? this.parts.join(' AND ') : 'true';
  }
}

/**
 * Rows related to each row of a page, read in the page's own statement instead of one of their
 * own (a trip's task on a page of trips): `sql` joins them to the page's table aliased `parent`
 * (each row at most one related row), `columns` selects them under names of their own, and
 * `read` gets the page's rows as read, before they are mapped.
 */
export interface RelatedRows {
  sql(parent: string): string;
  readonly columns: string;
  read(rows: readonly Row[]): void;
}

/**
 * A read's select list, `columns` (of the row aliased `alias`, as {@link columnList} writes them),
 * followed by the columns `related` reads, and the joins that read them.
 */
export function withRelated(alias: string, columns: string, related: RelatedRows | undefined): { readonly columns: string; readonly join: string } {
  return related ? { columns: `${columns}, ${related.columns}`, join: related.sql(alias) } : { columns, join: '' };
}

/** `rows`, read with {@link withRelated}, as lean objects of `entity`, once `related` has been handed them. */
export function leanWithRelated<T extends object>(em: EntityManager, entity: abstract new (...args: never[]) => T, rows: readonly Row[], related: RelatedRows | undefined): T[] {
  related?.read(rows);
  return leanRows(em, entity, rows);
}

/** What {@link leanPage} reads: `select <columns> from <from> <join> where <where> <after> order by <orderBy> limit <limit> offset <offset>`. */
export interface PageQuery {
  /** The table and its alias, e.g. `trips t`. */
  readonly from: string;
  /** Everything the count counts (conditions on `from` only). */
  readonly where: Conditions;
  /**
   * The same rows as {@link where}, written for the page's order where that differs (so that
   * PostgreSQL reads them through the index of that order, see `ownTasks` in
   * src/modules/exports/task.service.ts); by default `where`.
   */
  readonly pageWhere?: Conditions;
  /** The keyset condition of the page after a cursor (not counted), e.g. `AND (t.a, t.id) < (?, ?)`. */
  readonly after?: { readonly sql: string; readonly values: readonly unknown[] };
  /** Tables joined for the page's extra columns (not for the count). */
  readonly join?: string;
  /** What the page selects; by default every column of `from`. */
  readonly columns?: string;
  readonly orderBy: string;
  readonly limit: number;
  readonly offset?: number;
  /** Read with the page, after `join` and `columns`. */
  readonly related?: RelatedRows;
}

/**
 * A page and the count of everything matching, in one statement: the count is the outer row
 * and the page is joined to it laterally, so an empty page still answers its count. A
 * round trip less than two statements on every page, and both of one snapshot. `raw` holds the
 * page's rows as read, with any joined columns.
 */
export async function leanPage<T extends object>(
  em: EntityManager,
  entity: abstract new (...args: never[]) => T,
  query: PageQuery,
): Promise<{ rows: T[]; raw: Row[]; total: number }> {
  const { from, where, pageWhere = where, after, join, orderBy, limit, offset, related } = query;
  const alias = from.trim().split(/\s+/).pop()!;
  const select = withRelated(alias, query.columns ?? `${alias}.*`, related);
  const rows = await readRows<Row & { __total: string }>(
    em,
    `SELECT c.__total, p.* FROM (SELECT count(*) AS __total FROM ${from} WHERE ${where.sql}) c
       LEFT JOIN LATERAL (SELECT ${select.columns} FROM ${from} ${join ?? ''} ${select.join} WHERE ${pageWhere.sql} ${after?.sql ?? ''}
                           ORDER BY ${orderBy} LIMIT ? OFFSET ?) p ON true`,
    [...where.values, ...pageWhere.values, ...(after?.values ?? []), limit, offset ?? 0],
  );
  const total = Number(rows[0]?.__total ?? 0);
  // The one row of an empty page is the count alone.
  const raw = rows[0]?.id == null ? [] : rows;
  return { rows: leanWithRelated(em, entity, raw, related), raw, total };
}
