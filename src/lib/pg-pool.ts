import pg from 'pg';

/**
 * A `pg` pool whose connections can never crash the process. pg-pool listens for a client's
 * 'error' only while the client is idle and removes that listener while it is checked out;
 * a connection dropped then (PostgreSQL restarting, `pg_terminate_backend`, a cut network
 * during a COPY) emits 'error' with nobody listening, which Node turns into an uncaught
 * exception. Every client gets a listener of its own for its whole life. It only has to exist:
 * pg also fails the query that was running with the same error, and the pool discards a
 * client that failed when it is released.
 */
export function createPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('connect', (client) => client.on('error', ignore));
  // An idle client losing its server: the pool drops it and the next query reconnects.
  pool.on('error', ignore);
  retryOnTerminatedSession(pool);
  return pool;
}

/**
 * PostgreSQL said it ended the session (`pg_terminate_backend`, a fast shutdown, a crash): it
 * ran nothing of ours after that, and a statement it was running is rolled back.
 */
export function isTerminatedSession(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '57P01' || code === '57P02' || code === '57P03';
}

/**
 * A pooled connection whose backend was ended while it sat idle is only known dead once its
 * socket is read; a statement handed to it before that gets the termination as its answer. A
 * single statement (`pool.query`, one autocommit statement on a connection of its own) that got
 * that answer never ran, so it is sent once more, on another connection. Transactions retry at
 * their BEGIN only (`db/pg-transaction.ts`).
 */
function retryOnTerminatedSession(pool: pg.Pool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  pool.query = (async (...args: unknown[]) => {
    try {
      return await query(...args);
    } catch (error) {
      if (!isTerminatedSession(error)) throw error;
      return query(...args);
    }
  }) as typeof pool.query;
}

const ignore = (): void => undefined;
