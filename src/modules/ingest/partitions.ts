import type pg from 'pg';

/** A month partition of `records` (`records_YYYYmMM`). */
export interface MonthPartition {
  readonly name: string;
  /** Left "detach pending" by a DETACH ... CONCURRENTLY that did not finish. */
  readonly detachPending: boolean;
}

/**
 * The month partitions of `records` whose range ends at or before `cutoff`: no record at or
 * after the cutoff can be in them. `minIndexBytes` keeps only those whose indexes take at least
 * that many bytes.
 */
export async function partitionsEndedBy(pool: pg.Pool, cutoff: string, minIndexBytes = 0): Promise<MonthPartition[]> {
  const { rows } = await pool.query<{ name: string; detach_pending: boolean }>(
    `select c.relname as name, i.inhdetachpending as detach_pending
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'records'::regclass
        and (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz <= $1::timestamptz
        and pg_indexes_size(c.oid) >= $2
      order by c.relname`,
    [cutoff, minIndexBytes],
  );
  return rows.map((row) => ({ name: row.name, detachPending: row.detach_pending }));
}
