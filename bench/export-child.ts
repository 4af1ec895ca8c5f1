/**
 * Exports of one trip through the service's own code path (ExportService: claim, COPY → gzip
 * → fsync → rename, finish), in a process of its own so its peak RSS is the exports'. Like a
 * worker that has run before, the process warms up first: its first export also pays for a
 * new PostgreSQL backend touching shared buffers for the first time (reported apart).
 * Arguments: databaseUrl tripId customerId deviceId exportDir gzipLevel runs.
 * Prints one JSON line: { firstSeconds, seconds[], cpu[], bytes, records, maxRssBytes }.
 */
import 'reflect-metadata';

import { readFileSync } from 'node:fs';

import pg from 'pg';
import { pino } from 'pino';

import { loadConfig } from '../src/config/config.js';
import { JobQueue } from '../src/jobs/job-queue.js';
import { ExportService } from '../src/modules/exports/export.service.js';
import { requestExport } from '../src/modules/exports/task-lease.store.js';
import { cpuBetween, cpuSnapshot, type CpuUse } from './cpu.js';

const [url, tripId, customerId, deviceId, exportDir, level, runs] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const config = loadConfig({ DATABASE_URL: url, EXPORT_DIR: exportDir, EXPORT_GZIP_LEVEL: level, LOG_LEVEL: 'silent', EXPORT_MIN_DELAY_SECONDS: '0' });
const pool = new pg.Pool({ connectionString: url, max: 4 });
const jobs = new JobQueue(config, url, pino({ level: 'silent' }));
const service = new ExportService(config, pool, jobs);

/**
 * This process's own peak RSS (VmHWM of its memory map). Not getrusage's maxRSS: Linux carries
 * that over from the parent across fork and exec, so a large benchmark process would show.
 */
function peakRssBytes(): number {
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (!kb) throw new Error('no VmHWM in /proc/self/status');
  return Number(kb) * 1024;
}

async function exportOnce(): Promise<{ seconds: number; cpu: CpuUse; bytes: number; records: number }> {
  const task = await requestExport(pool, { tripId, customerId, deviceId, notBefore: null, delaySeconds: 0 });
  const before = cpuSnapshot({ export: process.pid });
  const started = performance.now();
  await (
    await service.startTask(task.id)
  )?.done;
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuBetween(before, cpuSnapshot({ export: process.pid }));
  const { rows } = await pool.query<{ state: string; error: string | null; result_bytes: string; result_records: string }>(
    'select state, error, result_bytes, result_records from tasks where id = $1',
    [task.id],
  );
  const row = rows[0]!;
  if (row.state !== 'SUCCESS') throw new Error(`export ended ${row.state}: ${row.error}`);
  return { seconds, cpu, bytes: Number(row.result_bytes), records: Number(row.result_records) };
}

try {
  const first = await exportOnce();
  const measured = [];
  for (let i = 0; i < Number(runs); i++) measured.push(await exportOnce());
  const last = measured.at(-1) ?? first;
  console.log(
    JSON.stringify({
      firstSeconds: first.seconds,
      seconds: measured.map((r) => r.seconds),
      cpu: measured.map((r) => r.cpu),
      bytes: last.bytes,
      records: last.records,
      maxRssBytes: peakRssBytes(),
    }),
  );
} finally {
  await jobs.close();
  await pool.end();
}
