import type pg from 'pg';

import { partitionsEndedBy } from './partitions.js';

export interface RetentionOutcome {
  readonly droppedPartitions: string[];
  readonly deletedRows: number;
  /** Compressed segments whose last record is past the cutoff (a segment goes whole, never cut). */
  readonly deletedSegments: number;
  /** Upload batch hashes past the cutoff (one row per accepted batch would grow forever). */
  readonly deletedBatches: number;
}

/**
 * Removes records older than `retentionDays`, and records kept aside for their untrusted times
 * (`records_untrusted_time`) received that long ago. Whole month partitions past the cutoff are
 * detached concurrently and dropped (no row-by-row work, no long lock on `records`); only the
 * partition the cutoff falls into is trimmed with a DELETE, which partition pruning keeps to
 * that one month. The hashes that recognise a re-sent upload batch expire with the records:
 * a batch re-sent after that would only hold records retention removes anyway.
 */
export async function dropExpiredRecords(pool: pg.Pool, retentionDays: number): Promise<RetentionOutcome> {
  const { rows: cut } = await pool.query<{ cutoff: string }>(`select (now() - make_interval(days => $1))::text as cutoff`, [retentionDays]);
  const cutoff = cut[0]!.cutoff;
  const parts = await partitionsEndedBy(pool, cutoff);
  const droppedPartitions: string[] = [];
  for (const part of parts) {
    const name = `"${part.name.replaceAll('"', '""')}"`;
    // DETACH ... CONCURRENTLY cannot run in a transaction; a run killed halfway leaves the
    // partition "detach pending", which FINALIZE completes.
    await pool.query(`alter table records detach partition ${name} ${part.detachPending ? 'finalize' : 'concurrently'}`);
    await pool.query(`drop table if exists ${name}`);
    droppedPartitions.push(part.name);
  }
  const deleted = await pool.query('delete from records where ts < $1::timestamptz', [cutoff]);
  // A segment straddling the cutoff stays until its newest record passes it: at most one per device.
  const segments = await pool.query('delete from record_segments where last_ts < $1::timestamptz', [cutoff]);
  await pool.query('delete from records_untrusted_time where received_at < $1::timestamptz', [cutoff]);
  const batches = await pool.query('delete from ingest_batches where received_at < $1::timestamptz', [cutoff]);
  return { droppedPartitions, deletedRows: deleted.rowCount ?? 0, deletedSegments: segments.rowCount ?? 0, deletedBatches: batches.rowCount ?? 0 };
}
