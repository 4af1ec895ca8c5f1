/**
 * Operator commands.
 *   npm run admin -- create-customer --name "Acme" --email admin@acme.test --password 's3cret'
 * prints {"customer_id", "user_id", "api_token"} as one JSON object.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { migrate, openDatabase, resolveDatabaseUrl } from '../db/database.js';
import { AppError } from '../lib/errors.js';
import { AuthService } from '../modules/accounts/auth.service.js';

const USAGE = 'usage: npm run admin -- create-customer --name NAME --email EMAIL --password PASSWORD';

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'create-customer') throw new AppError('INVALID_INPUT', USAGE);
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
    strict: true,
  });
  const missing = (['name', 'email', 'password'] as const).filter((k) => !values[k]);
  if (missing.length) throw new AppError('INVALID_INPUT', `missing --${missing.join(', --')}\n${USAGE}`);

  const config = loadConfig();
  const { url, embedded } = await resolveDatabaseUrl(config);
  const db = await openDatabase(url, 2);
  try {
    await migrate(db);
    const created = await new AuthService(config).createCustomer(db.orm.em.fork(), {
      name: values.name!,
      email: values.email!,
      password: values.password!,
    });
    console.log(JSON.stringify({ customer_id: created.customer.id, user_id: created.user.id, api_token: created.token }));
  } finally {
    await db.close();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
