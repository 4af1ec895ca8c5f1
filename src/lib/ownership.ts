import type { EntityName, FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

import { notFound } from './errors.js';
import { isUuid } from './ids.js';

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

/** Throws NOT_FOUND unless the id is one of the caller's rows. */
export async function requireOwned<T extends object>(em: EntityManager, entity: EntityName<T>, owner: Owner, id: string, what: string): Promise<void> {
  if (!isUuid(id) || (await em.count(entity, { id, customer: owner.customerId } as FilterQuery<T>)) === 0) throw notFound(what);
}

/** The customer's rows among `ids`, keyed by id, in one query (what a per-request loader batches). */
export async function ownedByIds<T extends { id: string }>(em: EntityManager, entity: EntityName<T>, customerId: string, ids: readonly string[]): Promise<Map<string, T>> {
  const rows = await em.find(entity, { id: { $in: ids.filter(isUuid) }, customer: customerId } as FilterQuery<T>);
  return new Map(rows.map((row) => [row.id, row]));
}
