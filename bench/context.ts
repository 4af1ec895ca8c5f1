import { randomUUID } from 'node:crypto';

import pg from 'pg';

import { type Config, loadConfig } from '../src/config/config.js';
import { type Database, migrate } from '../src/db/database.js';
import { openAppDatabase } from '../src/entities.js';
import type { Principal } from '../src/lib/principal.js';
import { AuthService } from '../src/modules/accounts/auth.service.js';
import { DeviceService } from '../src/modules/devices/device.service.js';

export interface BenchDevice {
  readonly id: string;
  readonly unitId: string;
  readonly vehicleId: number;
  readonly uploadToken: string;
}

export interface BenchContext {
  readonly url: string;
  readonly db: Database;
  readonly config: Config;
  readonly principal: Principal;
  readonly apiToken: string;
  readonly pgVersion: string;
  newDevice(settings?: { autoExport?: boolean }): Promise<BenchDevice>;
  /** Another customer of the same database, with its own API token. */
  newCustomer(name: string): Promise<{ readonly principal: Principal; readonly apiToken: string }>;
  /** Closes the pool and drops the benchmark's database. */
  close(): Promise<void>;
}

const SERVER = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Its own database per run: two benchmarks at once (or a bench beside a test run) never meet. */
const NAME = `trip_export_bench_${process.pid}`;

/** A fresh, migrated database of the benchmark's own, with one customer. */
export async function createBenchContext(): Promise<BenchContext> {
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${NAME}`);
  const version = (await admin.query<{ v: string }>("SELECT split_part(version(), ' on ', 1) AS v")).rows[0]?.v ?? 'PostgreSQL';
  await admin.end();
  const server = new URL(SERVER);
  server.pathname = `/${NAME}`;
  const url = server.toString();
  const db = await openAppDatabase(url);
  await migrate(db);
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn' });
  const auth = new AuthService(config);
  const newCustomer = async (name: string) => {
    const created = await auth.createCustomer(db.orm.em.fork(), { name, email: `${randomUUID()}@bench.test`, password: 'bench-password' });
    const principal: Principal = { customerId: created.customer.id, userId: created.user.id, via: 'api_token' };
    return { principal, apiToken: created.token };
  };
  const { principal, apiToken } = await newCustomer('Bench');
  const devices = new DeviceService();
  return {
    url,
    db,
    config,
    principal,
    apiToken,
    pgVersion: version,
    async newDevice(settings = {}) {
      const em = db.orm.em.fork();
      const vehicleId = Math.floor(Math.random() * 1e6);
      const { device, uploadToken } = await devices.createDevice(em, principal, { unitId: randomUUID(), name: 'bench', vehicleId });
      if (Object.keys(settings).length) await devices.updateSettings(em, principal, device.id, settings);
      return { id: device.id, unitId: device.unitId, vehicleId, uploadToken };
    },
    newCustomer,
    async close() {
      await db.close();
      const drop = new pg.Client({ connectionString: SERVER });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
      await drop.end();
    },
  };
}
