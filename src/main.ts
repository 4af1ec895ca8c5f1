/**
 * Entry point: load config, start (or reach) PostgreSQL, migrate, serve. SIGTERM drains
 * and closes everything; a second SIGTERM exits at once.
 */
import './node-env.js';
import 'reflect-metadata';

import { buildApp, type Role } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { migrate, resolveDatabaseUrl } from './db/database.js';
import { openAppDatabase } from './entities.js';
import { StartupError } from './lib/errors.js';

function parseRole(argv: readonly string[]): Role {
  const index = argv.indexOf('--role');
  const role = index >= 0 ? argv[index + 1] : 'all';
  if (role !== 'all' && role !== 'api' && role !== 'worker') throw new ConfigError([`--role must be all, api or worker (got "${role}")`]);
  return role;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const role = parseRole(process.argv.slice(2));
  const { url, embedded } = await resolveDatabaseUrl(config);
  const db = await openAppDatabase(url);
  await migrate(db);
  const app = await buildApp(config, db, { role });
  const base = await app.listen();
  app.http.log.info({ role, embeddedDatabase: embedded?.pgDir ?? false }, `trip-export listening on ${base}`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      app.http.log.warn(`second ${signal}: exiting now`);
      process.exit(1);
    }
    stopping = true;
    app.http.log.info(`${signal}: shutting down`);
    await app.close();
    await db.close();
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof StartupError ? error.message : error);
  process.exit(1);
});
