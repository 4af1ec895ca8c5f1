/**
 * One export through the service's own code path (ExportService: claim, COPY → gzip → fsync →
 * rename, finish), alone in a process so its peak RSS is the export's. Prints one JSON line.
 * Arguments: databaseUrl tripId customerId deviceId exportDir gzipLevel
 */
import 'reflect-metadata';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { JobQueue } from '../src/jobs/job-queue.js';
import { ExportService } from '../src/modules/exports/export.service.js';
import { requestExport } from '../src/modules/exports/task-lease.store.js';

const [url, tripId, customerId, deviceId, exportDir, level] = process.argv.slice(2) as [string, string, string, string, string, string];
const config = loadConfig({ DATABASE_URL: url, EXPORT_DIR: exportDir, EXPORT_GZIP_LEVEL: level, LOG_LEVEL: 'silent', EXPORT_MIN_DELAY_SECONDS: '0' });
const pool = new pg.Pool({ connectionString: url, max: 4 });
const jobs = new JobQueue(config, url, pino({ level: 'silent' }));
const service = new ExportService(config, pool, jobs);
try {
  const task = await requestExport(pool, { tripId, customerId, deviceId, notBefore: null, delaySeconds: 0 });
  const started = performance.now();
  await service.runTask(task.id, { touch: async () => undefined });
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await pool.query<{ state: string; error: string | null; result_bytes: string; result_records: string }>(
    'select state, error, result_bytes, result_records from tasks where id = $1',
    [task.id],
  );
  const row = rows[0]!;
  if (row.state !== 'SUCCESS') throw new Error(`export ended ${row.state}: ${row.error}`);
  console.log(JSON.stringify({ seconds, bytes: Number(row.result_bytes), records: Number(row.result_records), maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
} finally {
  await jobs.close();
  await pool.end();
}
