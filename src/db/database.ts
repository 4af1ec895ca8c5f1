import { MikroORM } from '@mikro-orm/postgresql';
import { type Options } from '@mikro-orm/postgresql';
import pg from 'pg';

import type { Config } from '../config/config.js';
import { createPool } from '../lib/pg-pool.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './embedded.js';
import { ormOptions } from './mikro-orm.config.js';

/** The ORM for ordinary rows and a plain `pg` pool for bulk COPY traffic. */
export interface Database {
  readonly url: string;
  readonly orm: MikroORM;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/** Opens both connections for `entities` (see `openAppDatabase` in `src/entities.ts`). */
export async function openDatabase(url: string, entities: NonNullable<Options['entities']>, poolSize = 10): Promise<Database> {
  const orm = await MikroORM.init(ormOptions(url, entities));
  const pool = createPool({ connectionString: url, max: poolSize, options: '-c TimeZone=UTC' });
  return {
    url,
    orm,
    pool,
    async close() {
      await pool.end();
      await orm.close(true);
    },
  };
}

/** Applies every pending migration. Safe to run concurrently: PostgreSQL serialises it. */
export async function migrate(db: Pick<Database, 'orm' | 'url'>): Promise<string[]> {
  // Two instances starting together must not both run the same migration: hold a session
  // lock on a connection of our own while the ORM migrates.
  const lock = new pg.Client({ connectionString: db.url });
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock(727274)');
    const done = await db.orm.getMigrator().up();
    return done.map((m) => m.name);
  } finally {
    await lock.end();
  }
}

/**
 * Resolves the database to use: `DATABASE_URL`, or an embedded PostgreSQL under the
 * data folder when it is unset.
 */
export async function resolveDatabaseUrl(config: Config): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort);
  return { url: embedded.url, embedded };
}
