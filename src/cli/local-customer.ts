/**
 * Creates a customer (with its first user and API token) straight in the service's database,
 * as an operator does with `npm run admin -- create-customer`. There is no public sign-up
 * route, so the demo and the simulator use this for a local service.
 */
import 'reflect-metadata';

import { loadConfig } from '../config/config.js';
import { migrate, resolveDatabaseUrl } from '../db/database.js';
import { runningEmbeddedPostgres } from '../db/embedded.js';
import { openAppDatabase } from '../entities.js';
import { AuthService } from '../modules/accounts/auth.service.js';

export interface NewCustomer {
  readonly customer_id: string;
  readonly user_id: string;
  readonly api_token: string;
}

type Env = Parameters<typeof loadConfig>[0];

export interface CustomerInput {
  readonly name: string;
  readonly email: string;
  readonly password: string;
}

/**
 * `DATABASE_URL`, else the embedded PostgreSQL. With `startEmbedded: false` an embedded
 * cluster must already run (a service started by `npm start` owns it): starting a second,
 * empty one would create a customer that the running service never sees.
 */
async function databaseUrl(startEmbedded: boolean, env: Env | undefined) {
  const config = loadConfig(env);
  if (config.databaseUrl || startEmbedded) return { config, ...(await resolveDatabaseUrl(config)) };
  const url = await runningEmbeddedPostgres(config.dataDir, config.embeddedPgPort);
  if (!url) {
    throw new Error(
      `no database to create a customer in: DATABASE_URL is unset and no embedded PostgreSQL runs under ${config.dataDir}/pg. ` +
        'Run this with the DATABASE_URL of the service, or pass --token with an API token of an existing customer.',
    );
  }
  return { config, url, embedded: undefined };
}

/** `env`: the environment of the service the customer is for (default: this process's). */
export async function createLocalCustomer(input: CustomerInput, options: { startEmbedded?: boolean; env?: Env } = {}): Promise<NewCustomer> {
  const { config, url, embedded } = await databaseUrl(options.startEmbedded ?? true, options.env);
  const db = await openAppDatabase(url, 2);
  try {
    await migrate(db);
    const created = await new AuthService(config).createCustomer(db.orm.em.fork(), input);
    return { customer_id: created.customer.id, user_id: created.user.id, api_token: created.token };
  } finally {
    await db.close();
    await embedded?.stop();
  }
}
