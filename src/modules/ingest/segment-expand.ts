/**
 * The way back from compressed segments: turns them into `records` rows again, each exactly the
 * line and columns it had (`npm run admin -- expand-segments [--device ID]`). Run it with the
 * compactor off (COMPACT_ENABLED=false on every worker), or the next run compacts the rows again.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';
import copyStreams from 'pg-copy-streams';

import { transaction } from '../../db/pg-transaction.js';
import { microsToIso } from '../../lib/time.js';
import { encodeRecordRows, type RecordRow, RECORDS_COPY_IN } from './record-copy.js';
import { segmentLines } from './segment-rows.js';

export interface ExpandOutcome {
  readonly segments: number;
  readonly records: number;
}

const COPY_CHUNK_BYTES = 256 * 1024;
const MONTH_MICROS = 28n * 86_400_000_000n;

/**
 * Expands every segment (of one device, or of all), `batch` segments per transaction: each
 * transaction holds the device lock uploads and the compactor take, writes the rows with binary
 * COPY and deletes the segments, so a crash leaves every record either a row or in a segment.
 */
export async function expandSegments(pool: pg.Pool, options: { readonly deviceId?: string; readonly batch?: number } = {}): Promise<ExpandOutcome> {
  const batch = options.batch ?? 50;
  let segments = 0;
  let records = 0;
  for (;;) {
    const { rows: next } = await pool.query<{ device_id: string }>('SELECT device_id FROM record_segments WHERE $1::uuid IS NULL OR device_id = $1 LIMIT 1', [
      options.deviceId ?? null,
    ]);
    if (!next[0]) return { segments, records };
    const deviceId = next[0].device_id;
    const done = await transaction(pool, async (tx) => {
      await tx.query('SELECT 1 FROM devices WHERE id = $1 FOR UPDATE', [deviceId]);
      const { rows } = await tx.query<{ id: string; data: Buffer; positions: Buffer | null }>(
        'SELECT id, data, positions FROM record_segments WHERE device_id = $1 ORDER BY first_ts LIMIT $2',
        [deviceId, batch],
      );
      const lines = rows.flatMap((segment) => segmentLines(segment));
      await ensurePartitions(tx, lines);
      const copied: RecordRow[] = lines.map((l) => ({ at: l.at, line: l.line.toString('utf8'), lat: l.lat, lon: l.lon }));
      await pipeline(Readable.from(encodeRecordRows([{ deviceId, rows: copied }], COPY_CHUNK_BYTES)), tx.query(copyStreams.from(RECORDS_COPY_IN)));
      await tx.query('DELETE FROM record_segments WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      return { segments: rows.length, records: lines.length };
    });
    segments += done.segments;
    records += done.records;
  }
}

/** The month partitions the rows fall into (retention may have dropped one a segment still reached into). */
async function ensurePartitions(tx: pg.PoolClient, lines: readonly { readonly at: bigint }[]): Promise<void> {
  if (!lines.length) return;
  // A probe every 28 days from the first to the last time, and the last: each month is hit.
  const first = lines[0]!.at;
  const last = lines.reduce((max, l) => (l.at > max ? l.at : max), first);
  const probes: string[] = [];
  for (let at = first; at < last; at += MONTH_MICROS) probes.push(microsToIso(at));
  probes.push(microsToIso(last));
  await tx.query('SELECT ensure_records_partition(at) FROM unnest($1::timestamptz[]) AS at', [probes]);
}
