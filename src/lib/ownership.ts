import type { EntityName, FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

import { notFound } from './errors.js';
import { isUuid } from './ids.js';
import { columnList, leanWithRelated, type RelatedRows, tableOf, withRelated } from './lean.js';
import { readRows } from './prepared-reads.js';

type Owner = { readonly customerId: string };

/**
 * The row with this id if it belongs to the caller's customer. Another customer's id answers
 * NOT_FOUND exactly like an unknown one, so ids never reveal what exists elsewhere.
 */
export async function findOwned<T extends object>(em: EntityManager, entity: EntityName<T>, owner: Owner, id: string, what: string): Promise<T> {
  const row = isUuid(id) ? await em.findOne(entity, { id, customer: owner.customerId } as FilterQuery<T>) : null;
  if (!row) throw notFound(what);
  return row;
}

type EntityClass<T> = abstract new (...args: never[]) => T;

/** Throws NOT_FOUND unless the id is one of the caller's rows. */
export async function requireOwned(em: EntityManager, entity: EntityClass<unknown>, owner: Owner, id: string, what: string): Promise<void> {
  const found = isUuid(id) && (await readRows(em, `SELECT 1 FROM ${tableOf(em, entity)} WHERE id = ? AND customer_id = ?`, [id, owner.customerId])).length > 0;
  if (!found) throw notFound(what);
}

/**
 * A read filtered by one of the caller's rows (`id`) and scoped to the customer: another
 * customer's id matches nothing, so whether it is the caller's needs asking only when nothing
 * matched (then NOT_FOUND, as for an unknown id). The filtered read costs no statement more.
 * `id` must have passed {@link filterId}.
 */
export async function requireOwnedWhenNoneMatched(em: EntityManager, entity: EntityClass<unknown>, owner: Owner, id: string, what: string, matched: number): Promise<void> {
  if (matched === 0) await requireOwned(em, entity, owner, id, what);
}

/** An id to filter a read by: one that is not a uuid cannot be the caller's (NOT_FOUND). */
export function filterId(id: string, what: string): string {
  if (!isUuid(id)) throw notFound(what);
  return id;
}

/**
 * The customer's rows among `ids`, keyed by id, in one query (what a per-request loader
 * batches); lean objects (lib/lean.ts), for reading, with the rows `related` reads.
 */
export async function ownedByIds<T extends { id: string }>(
  em: EntityManager,
  entity: EntityClass<T>,
  customerId: string,
  ids: readonly string[],
  columns?: readonly string[],
  related?: RelatedRows,
): Promise<Map<string, T>> {
  const valid = ids.filter(isUuid);
  if (!valid.length) return new Map();
  const select = withRelated('r', columnList('r', columns), related);
  const raw = await readRows(em, `SELECT ${select.columns} FROM ${tableOf(em, entity)} r ${select.join} WHERE r.id = ANY(?) AND r.customer_id = ?`, [valid, customerId]);
  return new Map(leanWithRelated(em, entity, raw, related).map((row) => [row.id, row]));
}
