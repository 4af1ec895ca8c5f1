/**
 * Operator commands.
 *   npm run admin -- create-customer --name "Acme" --email admin@acme.test --password 's3cret'
 * prints {"customer_id", "user_id", "api_token"} as one JSON object.
 */
import { parseArgs } from 'node:util';

import { AppError } from '../lib/errors.js';
import { createLocalCustomer } from './local-customer.js';

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
  console.log(JSON.stringify(await createLocalCustomer({ name: values.name!, email: values.email!, password: values.password! })));
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
