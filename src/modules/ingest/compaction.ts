/**
 * The `records.compact` job: every device's records older than the closing window become
 * compressed segments (compactor.ts), and late rows that landed inside compacted time are merged
 * into their segments (segment-merge.ts). Existing data is compacted the same way, in the
 * background, a bounded run at a time: there is no blocking migration step.
 */
import type pg from 'pg';

import type { Config } from '../../config/config.js';
import { compactDevice, reclaimEmptiedPartitions } from './compactor.js';
import { mergeLateRows } from './segment-merge.js';

export interface CompactionSettings {
  readonly afterSeconds: number;
  readonly maxRecordsPerRun: number;
  readonly maxDevicesPerRun: number;
  /** No device is started after this many milliseconds: the run ends within its job lock. */
  readonly budgetMs: number;
}

export interface CompactionRun {
  readonly devices: number;
  readonly segments: number;
  /** Rows turned into new segments, and late rows merged into existing ones. */
  readonly records: number;
  readonly merged: number;
  /** Devices another instance was compacting. */
  readonly skipped: number;
  readonly failed: number;
  /** Work was left for the next run. */
  readonly more: boolean;
  /** Month partitions emptied by compaction whose pages this run gave back (reclaimEmptiedPartitions). */
  readonly reclaimed: readonly string[];
}

/**
 * Per call of compactDevice / mergeLateRows, each one transaction holding the device lock that
 * uploads of the device wait for: 16 segments of 1 MiB of lines keep that wait well under a
 * second. A segment holds at most 8,192 records (small records would make 1 MiB a great many).
 */
const SEGMENTS_PER_CALL = 16;
const RECORDS_PER_SEGMENT = 8192;
/** Advisory lock space of the compactor (the second key is the device's). */
export const LOCK_SPACE = 160_001;

export const compactionSettings = (config: Pick<Config, 'compactAfterSeconds' | 'compactMaxRecordsPerRun' | 'compactMaxDevicesPerRun'>, budgetMs: number): CompactionSettings => ({
  afterSeconds: config.compactAfterSeconds,
  maxRecordsPerRun: config.compactMaxRecordsPerRun,
  maxDevicesPerRun: config.compactMaxDevicesPerRun,
  budgetMs,
});

/**
 * One run. Devices with the oldest rows go first (so none starves); several instances may run
 * it at once: a device another one holds is skipped, and the device row lock (the one ingest
 * takes) keeps a compaction and an upload of the same device apart.
 */
export async function compactDue(pool: pg.Pool, settings: CompactionSettings, onError: (deviceId: string, error: unknown) => void = () => undefined): Promise<CompactionRun> {
  const started = Date.now();
  const { rows: cut } = await pool.query<{ before: string }>(`SELECT (now() - make_interval(secs => $1))::text AS before`, [settings.afterSeconds]);
  const before = cut[0]!.before;
  // One probe of the (device_id, ts) index per device and month partition older than the cutoff.
  const { rows: due } = await pool.query<{ id: string }>(
    `SELECT d.id FROM devices d
       CROSS JOIN LATERAL (SELECT ts FROM records r WHERE r.device_id = d.id AND r.ts < $1::timestamptz ORDER BY ts LIMIT 1) oldest
      ORDER BY oldest.ts LIMIT $2`,
    [before, settings.maxDevicesPerRun + 1],
  );
  let devices = 0;
  let segments = 0;
  let records = 0;
  let merged = 0;
  let skipped = 0;
  let failed = 0;
  let more = due.length > settings.maxDevicesPerRun;
  const budgetLeft = () => records + merged < settings.maxRecordsPerRun && Date.now() - started < settings.budgetMs;
  for (const { id } of due.slice(0, settings.maxDevicesPerRun)) {
    if (!budgetLeft()) {
      more = true;
      break;
    }
    // The session that holds the device's advisory lock. A statement on it that fails (its
    // backend was terminated, the network dropped) marks it broken: destroyed on release, never
    // handed to an upload, and the lock ends with its session.
    const held = await pool.connect();
    let broken: Error | undefined;
    const onHeld = <R extends pg.QueryResultRow>(sql: string): Promise<pg.QueryResult<R>> =>
      held.query<R>(sql, [LOCK_SPACE, id]).catch((error: Error) => {
        broken = error;
        throw error;
      });
    try {
      const { rows } = await onHeld<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok');
      if (!rows[0]!.ok) {
        skipped++;
        continue;
      }
      try {
        devices++;
        let late = true;
        while (late && budgetLeft()) {
          const outcome = await mergeLateRows(pool, id, {
            maxRecordsPerSegment: RECORDS_PER_SEGMENT,
            maxSegments: SEGMENTS_PER_CALL,
            maxRows: RECORDS_PER_SEGMENT * SEGMENTS_PER_CALL,
          });
          merged += outcome.records;
          late = outcome.more;
        }
        let rest = true;
        while (rest && budgetLeft()) {
          const outcome = await compactDevice(pool, id, before, { maxRecordsPerSegment: RECORDS_PER_SEGMENT, maxSegments: SEGMENTS_PER_CALL });
          segments += outcome.segments;
          records += outcome.records;
          rest = outcome.more;
        }
        if (rest) more = true;
      } catch (error) {
        failed++;
        onError(id, error);
      } finally {
        await onHeld('SELECT pg_advisory_unlock($1, hashtext($2))').catch(() => undefined);
      }
    } finally {
      held.release(broken);
    }
  }
  // Only once every device is compacted up to the cutoff can a past month be empty.
  const reclaimed = !more && failed === 0 && skipped === 0 ? await reclaimEmptiedPartitions(pool, before) : [];
  return { devices, segments, records, merged, skipped, failed, more, reclaimed };
}
