import type pg from 'pg';

import { isTerminatedSession } from '../lib/pg-pool.js';

/** Runs `fn` in a transaction on one pooled connection (bulk and state-machine SQL outside the ORM). */
export async function transaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await begun(pool);
  let broken: Error | undefined;
  try {
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    // A connection that cannot even roll back (dropped, or cut off mid-COPY) is destroyed,
    // never handed to the next caller.
    await client.query('rollback').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * A connection with a transaction begun. A pooled connection whose session PostgreSQL ended
 * while it was idle answers BEGIN with the termination: nothing ran, so it is destroyed and
 * BEGIN goes to another connection, once.
 */
async function begun(pool: pg.Pool, retry = true): Promise<pg.PoolClient> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    return client;
  } catch (error) {
    client.release(error as Error);
    if (retry && isTerminatedSession(error)) return begun(pool, false);
    throw error;
  }
}
