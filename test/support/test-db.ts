import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import pg from 'pg';

import { type Database, migrate } from '../../src/db/database.js';
import { PROJECT_ROOT } from '../../src/db/mikro-orm.config.js';
import { openAppDatabase } from '../../src/entities.js';

/** Server used by the tests: TEST_DATABASE_URL, else the local PostgreSQL (trust auth). */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase extends Database {
  /** Closes the connections and drops the database. */
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_SERVER_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Any lock key will do as long as nothing else on the server uses it. */
const TEMPLATE_LOCK = 727275;
let templateName: Promise<string> | undefined;

/**
 * The name of a migrated template database for the migrations this build holds. Its name
 * carries a hash of the compiled migrations, so a branch with other migrations gets a
 * template of its own, and a changed migration never reuses a stale one.
 */
async function migrationsHash(): Promise<string> {
  const dir = path.join(PROJECT_ROOT, 'dist', 'migrations');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.js')).sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(file).update(await readFile(path.join(dir, file)));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Migrating a database takes seconds and every test file needs several: migrate once into
 * a template, then clone it (`CREATE DATABASE … TEMPLATE`), which takes a fraction of that.
 * Test files run in parallel processes; a session lock makes one of them build the template
 * while the others wait, and the template appears under its final name only once complete.
 */
function migratedTemplate(): Promise<string> {
  templateName ??= (async () => {
    const name = `trip_export_tpl_${await migrationsHash()}`;
    await admin(async (client) => {
      await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) return;
      const building = `${name}_${randomBytes(4).toString('hex')}`;
      await client.query(`CREATE DATABASE ${building}`);
      const db = await openAppDatabase(withDatabase(TEST_SERVER_URL, building), 1);
      try {
        await migrate(db);
      } finally {
        await db.close();
      }
      await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      await client.query(`ALTER DATABASE ${name} WITH IS_TEMPLATE true`);
    });
    return name;
  })();
  return templateName;
}

/** A fresh, migrated database of its own, so test files never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `trip_export_test_${randomBytes(6).toString('hex')}`;
  const template = await migratedTemplate();
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = withDatabase(TEST_SERVER_URL, name);
  const db = await openAppDatabase(url);
  return {
    ...db,
    async drop() {
      await db.close();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
