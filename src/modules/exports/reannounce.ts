import type pg from 'pg';

import { transaction } from '../../db/pg-transaction.js';
import { canonicalIso } from '../../lib/time.js';
import { insertExportSignal } from './export-signal.js';
import { TRIP_WITH_DEVICE_COLUMNS, tripWithDevice, type TripWithDeviceRow } from './trip-row.js';

const BATCH = 500;

interface ResultRow extends TripWithDeviceRow {
  id: string;
  task_created_at: string;
  revision: number;
  result_bytes: string;
  result_sha256: string;
  result_records: string;
  result_first_ts: string | null;
  result_last_ts: string | null;
}

const iso = (value: string | null): string | null => (value === null ? null : (canonicalIso(value) ?? value));

/**
 * Writes a `reannounce` signal for every successful result older than two hours that was not
 * cleared, in case the first announcement was missed. A result announced within the last two
 * hours is skipped, so a second run the same day announces nothing twice.
 */
export async function reannounceResults(pool: pg.Pool): Promise<number> {
  let total = 0;
  for (;;) {
    const count = await transaction(pool, async (tx) => {
      const { rows } = await tx.query<ResultRow>(
        `select t.id, t.created_at::text as task_created_at, t.revision, t.result_bytes, t.result_sha256, t.result_records,
           t.result_first_ts::text, t.result_last_ts::text, ${TRIP_WITH_DEVICE_COLUMNS}
         from tasks t join trips tr on tr.id = t.trip_id join devices d on d.id = t.device_id
         where t.state = 'SUCCESS' and t.result_path is not null
           and t.result_at <= now() - interval '2 hours'
           and (t.announced_at is null or t.announced_at <= now() - interval '2 hours')
         order by t.id
         limit ${BATCH}
         for update of t skip locked`,
      );
      for (const row of rows) {
        await insertExportSignal(tx, 'reannounce', { id: Number(row.id), createdAt: iso(row.task_created_at)!, revision: row.revision }, tripWithDevice(row), {
          bytes: Number(row.result_bytes),
          sha256: row.result_sha256,
          records: Number(row.result_records),
          firstTs: iso(row.result_first_ts),
          lastTs: iso(row.result_last_ts),
        });
      }
      if (rows.length) await tx.query('update tasks set announced_at = now() where id = any($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.length;
    });
    total += count;
    if (count < BATCH) return total;
  }
}
