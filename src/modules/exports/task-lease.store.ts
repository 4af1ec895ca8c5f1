/**
 * Every state change of an export task, as one conditional SQL statement each. These, not
 * the job runner, enforce the rules: one task per trip (unique trip_id), no export of a trip
 * in progress, never two runs of one task at once (the lease), exactly one follow-up run
 * for requests that arrive during a run (request_count vs covered_request_count).
 */
import type { Queryable } from '../../lib/domain-events.js';
import { canonicalIso } from '../../lib/time.js';
import { TRIP_WITH_DEVICE_COLUMNS, type TripWithDevice, tripWithDevice, type TripWithDeviceRow } from './trip-row.js';

export interface ExportRequest {
  readonly tripId: string;
  readonly customerId: string;
  readonly deviceId: string;
  /** The export may not run before this time plus `delaySeconds` (nor before now plus it). */
  readonly notBefore?: string | null;
  readonly delaySeconds: number;
}

export interface RequestedTask {
  readonly id: number;
  readonly state: string;
  readonly dueAt: string;
  readonly created: boolean;
  /** Of the last successful export; 0 before the first. */
  readonly revision: number;
}

const iso = (value: string | null): string | null => (value === null ? null : (canonicalIso(value) ?? value));

/**
 * Creates the trip's task or asks it for one more run. A task that is running stays STARTED:
 * the raised request_count makes its finish go back to PENDING, once, however many requests came.
 */
export async function requestExport(q: Queryable, req: ExportRequest): Promise<RequestedTask> {
  const { rows } = await q.query<{ id: string; state: string; due_at: string; created: boolean; revision: number }>(
    `insert into tasks as t (customer_id, trip_id, device_id, state, due_at, request_count)
     values ($1, $2, $3, 'PENDING', greatest(coalesce($4::timestamptz, now()), now()) + make_interval(secs => $5), 1)
     on conflict (trip_id) do update set
       state = case when t.state = 'STARTED' then t.state else 'PENDING' end,
       attempts = case when t.state = 'STARTED' then t.attempts else 0 end,
       error = case when t.state = 'STARTED' then t.error else null end,
       due_at = excluded.due_at,
       request_count = t.request_count + 1
     returning t.id, t.state, t.due_at::text, (xmax = 0) as created, t.revision`,
    [req.customerId, req.tripId, req.deviceId, req.notBefore ?? null, req.delaySeconds],
  );
  const row = rows[0]!;
  return { id: Number(row.id), state: row.state, dueAt: iso(row.due_at)!, created: row.created, revision: row.revision };
}

export interface ClaimedTask {
  readonly id: number;
  /** This run's lease holder: every later statement of the run must present it. */
  readonly owner: string;
  readonly createdAt: string;
  readonly attempts: number;
  /** Of the last successful export, 0 before the first. */
  readonly revision: number;
  /** The trip as it was when the task was claimed (completed), with its device. */
  readonly subject: TripWithDevice;
}

/**
 * Takes a due task for the run `owner`: PENDING, or STARTED by a worker whose lease ran out, and
 * its trip completed. Rows another transaction holds are skipped rather than waited for (an
 * upload may be ending or reopening the trip right now): the sweeper comes back for them.
 * The trip is read under the same lock, so the range exported is that of a completed trip.
 */
export async function claimTask(q: Queryable, owner: string, leaseSeconds: number, taskId?: number): Promise<ClaimedTask | undefined> {
  const { rows } = await q.query<TripWithDeviceRow & { id: string; task_created_at: string; attempts: number; revision: number }>(
    `with pick as (
       select t.id as task_id, ${TRIP_WITH_DEVICE_COLUMNS}
       from tasks t join trips tr on tr.id = t.trip_id join devices d on d.id = t.device_id
       where ($1::bigint is null or t.id = $1)
         and t.due_at <= now()
         and (t.state = 'PENDING' or (t.state = 'STARTED' and t.locked_until < now()))
         and tr.state = 'completed'
       order by t.due_at
       limit 1
       for update of t skip locked
       for share of tr skip locked
     )
     update tasks t set state = 'STARTED', attempts = t.attempts + 1, runs = t.runs + 1, started_at = now(), finished_at = null,
       locked_by = $2, locked_until = now() + make_interval(secs => $3), covered_request_count = t.request_count
     from pick where t.id = pick.task_id
     returning t.id, t.created_at::text as task_created_at, t.attempts, t.revision, pick.*`,
    [taskId ?? null, owner, leaseSeconds],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { id: Number(row.id), owner, createdAt: iso(row.task_created_at)!, attempts: row.attempts, revision: row.revision, subject: tripWithDevice(row) };
}

/** Extends the lease; false when the task is no longer this run's (it must stop). */
export async function renewLease(q: Queryable, taskId: number, owner: string, leaseSeconds: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `update tasks set locked_until = now() + make_interval(secs => $3)
     where id = $1 and locked_by = $2 and state = 'STARTED'`,
    [taskId, owner, leaseSeconds],
  );
  return rowCount === 1;
}

export interface ExportResult {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly records: number;
  readonly firstTs: string | null;
  readonly lastTs: string | null;
}

export interface FinishedTask {
  readonly state: 'SUCCESS' | 'PENDING' | 'FAILURE';
  readonly dueAt: string | null;
  /** The result's revision once SUCCESS (1 for the first); unchanged otherwise. */
  readonly revision: number;
}

interface FinishedRow {
  state: FinishedTask['state'];
  due_at: string | null;
  revision: number;
}

const finishedOf = (row: FinishedRow | undefined): FinishedTask | undefined => row && { state: row.state, dueAt: row.due_at && iso(row.due_at), revision: row.revision };

/**
 * Stores the run's result. SUCCESS with the next revision, or PENDING again when a request came
 * in during the run (its due time is the one that request set; the follow-up takes the
 * revision). Undefined when the lease was lost meanwhile: the result must then be thrown away.
 * Call inside the transaction that writes the signal.
 */
export async function finishSuccess(q: Queryable, taskId: number, owner: string, result: ExportResult): Promise<FinishedTask | undefined> {
  const { rows } = await q.query<FinishedRow>(
    `update tasks set
       state = case when request_count > covered_request_count then 'PENDING'::task_state else 'SUCCESS' end,
       attempts = case when request_count > covered_request_count then 0 else attempts end,
       finished_at = now(), locked_until = null, error = null,
       result_path = $3, result_bytes = $4, result_sha256 = $5, result_records = $6,
       result_first_ts = $7, result_last_ts = $8, result_at = now(), result_cleared_at = null,
       announced_at = case when request_count > covered_request_count then announced_at else now() end,
       revision = case when request_count > covered_request_count then revision else revision + 1 end
     where id = $1 and locked_by = $2 and state = 'STARTED'
     returning state, due_at::text, revision`,
    [taskId, owner, result.path, result.bytes, result.sha256, result.records, result.firstTs, result.lastTs],
  );
  return finishedOf(rows[0]);
}

/**
 * Records a failed run: PENDING again after a backoff while attempts remain (or at once for
 * a request that came in during the run), else FAILURE with the reason.
 */
export async function finishFailure(
  q: Queryable,
  taskId: number,
  owner: string,
  failure: { reason: string; permanent: boolean; maxAttempts: number; retryBaseSeconds: number },
): Promise<FinishedTask | undefined> {
  const { rows } = await q.query<FinishedRow>(
    `update tasks set
       state = case
         when request_count > covered_request_count then 'PENDING'::task_state
         when $4 or attempts >= $5 then 'FAILURE'
         else 'PENDING' end,
       due_at = case
         when request_count > covered_request_count or $4 or attempts >= $5 then due_at
         else now() + make_interval(secs => $6 * power(2, attempts - 1)) end,
       attempts = case when request_count > covered_request_count then 0 else attempts end,
       error = $3, finished_at = now(), locked_until = null
     where id = $1 and locked_by = $2 and state = 'STARTED'
     returning state, due_at::text, revision`,
    [taskId, owner, failure.reason, failure.permanent, failure.maxAttempts, failure.retryBaseSeconds],
  );
  return finishedOf(rows[0]);
}
