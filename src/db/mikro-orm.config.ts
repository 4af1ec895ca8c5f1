import { fileURLToPath } from 'node:url';

import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type Options } from '@mikro-orm/postgresql';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Tables that are not ORM entities: bulk data written with COPY (records and their
 * partitions, ingest batches) or compacted from it (record segments), the job runner's own table, the service's generated secrets and the
 * EVENT triggers' firing state (written in the upload's SQL).
 * The schema diff leaves them alone.
 */
const UNMANAGED_TABLES: (string | RegExp)[] = [/^records(_.*)?$/, 'record_segments', 'ingest_batches', 'agenda_jobs', 'service_secrets', /^event_trigger_/];

/** The ORM's options for `entities` (the list lives in the top-level wiring, `src/entities.ts`). */
export function ormOptions(databaseUrl: string, entities: NonNullable<Options['entities']>, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities,
    discovery: { requireEntitiesArray: true },
    extensions: [Migrator],
    forceUtcTimezone: true,
    allowGlobalContext: false,
    debug: false,
    // Migration progress and discovery chatter would pollute CLI output (the admin CLI prints JSON).
    logger: () => undefined,
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: `${PROJECT_ROOT}dist/migrations`,
      pathTs: `${PROJECT_ROOT}migrations`,
      glob: '!(*.d).js',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
    },
    schemaGenerator: { skipTables: UNMANAGED_TABLES },
    pool: { min: 0, max: 10 },
    // knex prints each dropped connection to the console; the query on it fails and its caller
    // reports that (once per outage, see lib/database-outage.ts).
    driverOptions: {
      // The only statements with parameters on the ORM's connections are the service's own
      // prepared reads (src/lib/prepared-reads.ts; the ORM writes its values into the SQL text).
      // Each is written for one index path, and PostgreSQL is told to keep one plan for it: left
      // to choose, it kept planning the trip and task pages anew at every request (0.5 ms of its
      // CPU a page) whenever a customer's share of the rows differed from the average, which
      // with a few customers of different sizes is always.
      connection: { options: '-c plan_cache_mode=force_generic_plan' },
      log: {
        warn: (message: string) => {
          if (!message.startsWith('Connection Error:')) console.warn(message);
        },
      },
    },
    ...overrides,
  });
}

export { PROJECT_ROOT };
