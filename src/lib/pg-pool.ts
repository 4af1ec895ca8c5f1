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
  return pool;
}

const ignore = (): void => undefined;
