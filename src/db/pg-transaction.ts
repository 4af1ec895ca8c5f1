import type pg from 'pg';

/** Runs `fn` in a transaction on one pooled connection (bulk and state-machine SQL outside the ORM). */
export async function transaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('begin');
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
