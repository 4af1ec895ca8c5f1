/**
 * Operator commands.
 *   npm run admin -- create-customer --name "Acme" --email admin@acme.test --password 's3cret'
 * prints {"customer_id", "user_id", "api_token"} as one JSON object.
 *   npm run admin -- expand-segments [--device ID]
 * turns compressed record segments back into rows (all devices, or one) and prints
 * {"segments", "records"}; run it with COMPACT_ENABLED=false on every worker.
 */
import 'reflect-metadata';

import { parseArgs } from 'node:util';

import { loadConfig } from '../config/config.js';
import { migrate, resolveDatabaseUrl } from '../db/database.js';
import { openAppDatabase } from '../entities.js';
import { AppError } from '../lib/errors.js';
import { isUuid } from '../lib/ids.js';
import { expandSegments } from '../modules/ingest/segment-expand.js';
import { createLocalCustomer } from './local-customer.js';

const USAGE = ['usage: npm run admin -- create-customer --name NAME --email EMAIL --password PASSWORD', '       npm run admin -- expand-segments [--device ID]'].join('\n');

async function createCustomer(args: string[]): Promise<unknown> {
  const { values } = parseArgs({
    args,
    options: { name: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
    strict: true,
  });
  const missing = (['name', 'email', 'password'] as const).filter((k) => !values[k]);
  if (missing.length) throw new AppError('INVALID_INPUT', `missing --${missing.join(', --')}\n${USAGE}`);
  return createLocalCustomer({ name: values.name!, email: values.email!, password: values.password! });
}

async function expand(args: string[]): Promise<unknown> {
  const { values } = parseArgs({ args, options: { device: { type: 'string' } }, strict: true });
  if (values.device !== undefined && !isUuid(values.device)) throw new AppError('INVALID_INPUT', `--device must be a device id\n${USAGE}`);
  const { url, embedded } = await resolveDatabaseUrl(loadConfig());
  const db = await openAppDatabase(url, 2);
  try {
    await migrate(db);
    return await expandSegments(db.pool, { deviceId: values.device });
  } finally {
    await db.close();
    await embedded?.stop();
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<unknown>> = { 'create-customer': createCustomer, 'expand-segments': expand };

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const run = command === undefined ? undefined : COMMANDS[command];
  if (!run) throw new AppError('INVALID_INPUT', USAGE);
  console.log(JSON.stringify(await run(rest)));
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
