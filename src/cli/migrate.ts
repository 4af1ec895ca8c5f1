/**
 * `npm run migrate` applies pending migrations.
 * `npm run migrate -- create` writes a new migration for the entity changes (into migrations/).
 * `npm run migrate -- check` fails when the entities need a migration that is not written yet.
 */
import { MikroORM } from '@mikro-orm/postgresql';

import { loadConfig } from '../config/config.js';
import { migrate, resolveDatabaseUrl } from '../db/database.js';
import { ormOptions, PROJECT_ROOT } from '../db/mikro-orm.config.js';
import { ENTITIES, openAppDatabase } from '../entities.js';

async function main(): Promise<void> {
  const command = process.argv[2] ?? 'up';
  const config = loadConfig();
  const { url, embedded } = await resolveDatabaseUrl(config);
  const db = await openAppDatabase(url);
  try {
    const applied = await migrate(db);
    if (command === 'up') {
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return;
    }
    const diff = await db.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false, safe: false });
    if (command === 'check') {
      if (diff.trim() !== '') {
        console.error(`Entities differ from the migrations; run "npm run migrate -- create":\n${diff}`);
        process.exitCode = 1;
      } else console.log('migrations match the entities');
      return;
    }
    if (command === 'create') {
      if (diff.trim() === '') {
        console.log('nothing to migrate');
        return;
      }
      const writer = await MikroORM.init(ormOptions(url, ENTITIES, { migrations: { ...db.orm.config.get('migrations'), path: `${PROJECT_ROOT}migrations`, emit: 'ts' } }));
      try {
        const result = await writer.getMigrator().createMigration();
        console.log(`written: migrations/${result.fileName}`);
      } finally {
        await writer.close(true);
      }
      return;
    }
    throw new Error(`unknown command "${command}" (use up, check or create)`);
  } finally {
    await db.close();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
