import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type App, buildApp, type Role } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

export interface TestApp {
  readonly baseUrl: string;
  readonly app: App;
  readonly config: Config;
  readonly db: TestDatabase;
  close(): Promise<void>;
}

/**
 * The real service on a random loopback port, on a database of its own. `env` overrides
 * configuration exactly as the environment would.
 */
export async function startTestApp(env: Record<string, string> = {}, options: { role?: Role; db?: TestDatabase } = {}): Promise<TestApp> {
  const db = options.db ?? (await createTestDatabase());
  const exportDir = path.join(tmpdir(), `trip-export-test-${randomBytes(6).toString('hex')}`);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    EXPORT_MIN_DELAY_SECONDS: '1',
    // Sign-ups and logins stay real scrypt, 16 times cheaper than production's: the suite is CPU-bound.
    PASSWORD_HASH_COST: '10',
    JOB_POLL_MS: '100',
    // Agenda keeps the process alive for half a job's lock lifetime (= the lease) after it runs.
    EXPORT_LEASE_SECONDS: '4',
    EXPORT_SWEEP_SECONDS: '2',
    // Tests that read `records` would race the compactor; those about compaction turn it on.
    COMPACT_ENABLED: 'false',
    EXPORT_RETRY_BASE_SECONDS: '1',
    EXPORT_DIR: exportDir,
    DATABASE_URL: db.url,
    ...env,
  });
  const app = await buildApp(config, db, { role: options.role });
  const baseUrl = await app.listen();
  return {
    baseUrl,
    app,
    // What the service runs with: the JWT secret is the database's when JWT_SECRET is unset.
    config: app.services.config,
    db,
    async close() {
      await app.close();
      if (!env.EXPORT_DIR) await rm(exportDir, { recursive: true, force: true });
      if (!options.db) await db.drop();
    },
  };
}
