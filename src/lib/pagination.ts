// Its classes carry type-graphql decorators, and it may be the first such module loaded.
import 'reflect-metadata';

import type { EntityName, FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type ClassType, Field, Int, ObjectType } from 'type-graphql';

import { invalidInput } from './errors.js';
import { isUuid } from './ids.js';
import { leanRows } from './lean.js';

/** Opaque cursors: base64url of the sort key, so clients cannot depend on its shape. */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/**
 * Reads a cursor made by {@link encodeCursor}. `read` checks every part and answers the sort
 * key, or undefined: a forged cursor is the client's mistake, never a value the database
 * chokes on.
 */
export function decodeCursor<T>(cursor: string, read: (parts: readonly unknown[]) => T | undefined): T {
  let key: T | undefined;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts)) key = read(parts);
  } catch {
    // not JSON: not one of ours
  }
  if (key === undefined) throw invalidInput('after is not a valid cursor; pass the endCursor of a page');
  return key;
}

export const MAX_PAGE_SIZE = 200;

/** Lists and offset pages that became connections stay one release under their old name. */
export const LIST_DEPRECATION = 'Use the connection query named in the description; this one goes in the next release.';

export function pageSize(first: number | null | undefined, fallback = 50): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw invalidInput(`first must be between 1 and ${MAX_PAGE_SIZE}`);
  return size;
}

@ObjectType()
class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface ConnectionShape<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** Builds a Relay-style connection type (`XConnection`, `XEdge`) for a node type. */
export function connectionType<T extends object>(node: ClassType<T>, name: string): ClassType<ConnectionShape<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int)
    totalCount!: number;
  }
  return Connection;
}

/** An edge whose cursor is written only when it is read: most pages ask for the endCursor alone. */
class LazyEdge<T> {
  constructor(
    readonly node: T,
    private readonly cursorOf: (row: T) => string,
  ) {}

  get cursor(): string {
    return this.cursorOf(this.node);
  }
}

/** Turns `size + 1` fetched rows into a connection page. */
export function toConnection<T>(rows: T[], size: number, totalCount: number, cursorOf: (row: T) => string): ConnectionShape<T> {
  const page = rows.slice(0, size);
  return {
    edges: page.map((node) => new LazyEdge(node, cursorOf)),
    pageInfo: { hasNextPage: rows.length > size, endCursor: page.length ? cursorOf(page[page.length - 1]!) : null },
    totalCount,
  };
}

/** How a keyset page is ordered: by a text or timestamp column, ties broken by id the same way. */
export interface KeysetOrder<K extends string> {
  readonly key: K;
  readonly direction: 'asc' | 'desc';
}

/**
 * A page of uuid-keyed rows after a cursor of `[sort value, id]`: the next page starts where
 * the last ended even when rows are added in between, which an offset cannot promise.
 */
export async function keysetConnection<T extends { id: string } & Record<K, string>, K extends string>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  order: KeysetOrder<K>,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<ConnectionShape<T>> {
  const size = pageSize(first);
  const { key, direction } = order;
  const beyond = direction === 'asc' ? '$gt' : '$lt';
  let page = where;
  if (after) {
    const [value, id] = decodeCursor(after, ([v, i, ...rest]): [string, string] | undefined =>
      rest.length === 0 && typeof v === 'string' && v.length <= 1000 && typeof i === 'string' && isUuid(i) ? [v, i] : undefined,
    );
    page = { $and: [where, { $or: [{ [key]: { [beyond]: value } }, { [key]: value, id: { [beyond]: id } }] }] } as FilterQuery<T>;
  }
  const orderBy = { [key]: direction, id: direction } as Record<string, 'asc' | 'desc'>;
  // Read, not loaded: the rows become lean objects (lib/lean.ts), not managed entities.
  const query = em
    .createQueryBuilder(entity)
    .select('*')
    .where(page)
    .orderBy(orderBy)
    .limit(size + 1);
  const [rows, totalCount] = await Promise.all([query.execute<Record<string, unknown>[]>('all', false), em.count(entity, where)]);
  return toConnection(leanRows(em, entity as abstract new (...args: never[]) => T, rows), size, totalCount, (row) => encodeCursor([row[key], row.id]));
}
