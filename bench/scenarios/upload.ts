/**
 * Upload scenario: records through `POST /logbook/storage/` in device-sized batches from
 * several concurrent devices, trip detection included; baseline: one bare COPY of the same
 * rows into the same table.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import copyStreams from 'pg-copy-streams';

import { RECORDS_COPY_IN } from '../../src/modules/ingest/record-copy.js';
import type { BenchContext, BenchDevice } from '../context.js';
import { cpuBetween, cpuSnapshot, type CpuUse } from '../cpu.js';
import { batches, copyChunks } from '../dataset.js';

export interface UploadResult {
  readonly seconds: number;
  readonly records: number;
}

export interface ServiceUploadResult extends UploadResult {
  /** Where the CPU went: the service, PostgreSQL, and the benchmark itself (the clients). */
  readonly cpu: CpuUse;
}

/**
 * The batches each client sends, encoded before the clock starts (the clients share the two
 * cores with the service); identical across runs (fresh devices keep dedup out of the way).
 */
export function prepareUpload(records: number, clients: number): Buffer[][] {
  const per = Math.ceil(records / clients);
  return Array.from({ length: clients }, (_, i) => [...batches(`2026-0${(i % 9) + 1}-02T08:00:00.000000Z`, per)].map((body) => Buffer.from(body)));
}

export async function runUpload(ctx: BenchContext, service: { baseUrl: string; pid: number }, plan: Buffer[][]): Promise<ServiceUploadResult> {
  const { baseUrl } = service;
  const devices = await Promise.all(plan.map(() => ctx.newDevice()));
  const processes = { service: service.pid, clients: process.pid };
  const before = cpuSnapshot(processes);
  const started = performance.now();
  let records = 0;
  await Promise.all(
    devices.map(async (device, i) => {
      for (const body of plan[i]!) {
        const response = await fetch(`${baseUrl}/logbook/storage/`, {
          method: 'POST',
          headers: { authorization: `token ${device.uploadToken}`, 'content-type': 'application/json', 'unit-id': device.unitId },
          body,
        });
        const result = (await response.json()) as { stored?: number; detail?: string };
        if (response.status !== 200) throw new Error(`upload failed: ${response.status} ${result.detail}`);
        records += result.stored ?? 0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { seconds, records, cpu: cpuBetween(before, cpuSnapshot(processes)) };
}

/** The same rows, as the service would store them, in one COPY. */
export async function runCopyBaseline(ctx: BenchContext, records: number, clients: number): Promise<UploadResult> {
  const devices: BenchDevice[] = await Promise.all(Array.from({ length: clients }, () => ctx.newDevice()));
  const per = Math.ceil(records / clients);
  // Built before the clock starts: the baseline times COPY alone.
  const chunks = [...copyChunks(devices.map((device, i) => ({ device, start: `2026-0${(i % 9) + 1}-02T08:00:00.000000Z`, count: per })))];
  for (let i = 0; i < clients; i++) await ctx.db.pool.query('SELECT ensure_records_partition($1)', [`2026-0${(i % 9) + 1}-01T00:00:00Z`]);
  const client = await ctx.db.pool.connect();
  try {
    const started = performance.now();
    await pipeline(Readable.from(chunks), client.query(copyStreams.from(RECORDS_COPY_IN)));
    return { seconds: (performance.now() - started) / 1000, records: per * clients };
  } finally {
    client.release();
  }
}

/** Every `every`th record of the plan's batches carries a battery tag, as a fleet's warnings would. */
export function withBatteryTags(plan: Buffer[][], every = 100): Buffer[][] {
  let n = 0;
  return plan.map((bodies) =>
    bodies.map((body) => {
      const records = JSON.parse(body.toString()) as Record<string, unknown>[];
      for (const record of records) if (++n % every === 0 && record['@tag'] === undefined) record['@tag'] = 'vehicle/battery/low';
      return Buffer.from(JSON.stringify(records));
    }),
  );
}

/**
 * The customer's EVENT triggers for the "with triggers" runs: two that match (the engine tags
 * every trip has, the battery warnings at most every 5 minutes per device) and three that do
 * not. Written as rows (no actions: the upload path is what is measured); removing them bumps
 * the version the service checks, as creating them did.
 */
export async function setEventTriggers(ctx: BenchContext, on: boolean): Promise<void> {
  await ctx.db.pool.query(`DELETE FROM triggers WHERE customer_id = $1 AND type = 'event'`, [ctx.principal.customerId]);
  if (!on) return;
  const rules: [string, number][] = [
    ['vehicle/engine/*', 0],
    ['vehicle/battery/*', 300],
    ['vehicle/door/*', 0],
    ['**/alarm', 0],
    ['obd/**', 60],
  ];
  for (const [tag, interval] of rules) {
    await ctx.db.pool.query(
      `INSERT INTO triggers (id, customer_id, description, type, event_tag, min_interval_seconds, email_recipients, webhook_headers, webhook_secret_sealed)
       VALUES (gen_random_uuid(), $1, 'bench', 'event', $2, $3, '[]', '{}', 'unused')`,
      [ctx.principal.customerId, tag, interval],
    );
  }
}
