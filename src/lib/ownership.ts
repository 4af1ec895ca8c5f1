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
