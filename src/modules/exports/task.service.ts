import { type FileHandle, open, rm } from 'node:fs/promises';
import path from 'node:path';

import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';

import type { Config } from '../../config/config.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { AppError, invalidInput, notFound, unauthenticated } from '../../lib/errors.js';
import { isUuid } from '../../lib/ids.js';
import { columnList, Conditions, leanPage, leanQuery, type RelatedRows } from '../../lib/lean.js';
import { filterId, requireOwnedWhenNoneMatched } from '../../lib/ownership.js';
import { type ConnectionShape, decodeCursor, encodeCursor, pageSize, toConnection } from '../../lib/pagination.js';
import type { Principal } from '../../lib/principal.js';
import { canonicalIso } from '../../lib/time.js';
import { signDownloadUrl, verifyDownloadSignature } from '../../notify/download-link.js';
import { Device } from '../devices/device.entity.js';
import { deviceStream } from '../devices/device-stream.js';
import { Trip, TripState } from '../trips/trip.entity.js';
import { Task, TaskState } from './task.entity.js';
import { requestExport } from './task-lease.store.js';
import { publishTaskState, TASK_UPDATED, type TaskPubSub, type TaskUpdatedMessage } from './task-topics.js';

export interface TaskFilter {
  readonly state?: TaskState;
}

/** What the GraphQL list of tasks narrows by besides the state. */
export interface TaskSearch extends TaskFilter {
  readonly deviceId?: string | null;
  /** Tasks created at or after this ISO time. */
  readonly from?: string | null;
  /** Tasks created at or before this ISO time. */
  readonly to?: string | null;
}

export interface OpenResult {
  readonly task: Task;
  readonly file: FileHandle;
  /** The name a download is saved under: `TRIP_ID.json.gz`. */
  readonly filename: string;
}

const ID_RE = /^[1-9]\d{0,15}$/;

/** The filter's state, added to `where`. */
function ofState(where: Conditions, filter: TaskFilter): Conditions {
  return filter.state ? where.and('state = ?', filter.state) : where;
}

/**
 * The customer's tasks, to be read in {@link NEWEST_FIRST} order. The customer is a list of one
 * (`= ANY`), not an equality, on purpose: PostgreSQL drops a column held equal to one value from
 * the order it needs, and `id DESC` alone is also the order of `tasks_pkey` walked backwards,
 * which it chose (generic and custom plans alike) and which reads past every newer task of every
 * other customer before the caller's first: a page of 20 behind another customer's 1,000 newer
 * tasks read all 1,000, and behind a million it would read them all. With the list the customer
 * stays in the order, and only `(customer_id, id)` serves it. (A range `>= ? AND <= ?` does the
 * same for the order, but a generic plan takes it for one row and sorts the whole customer.)
 */
function ownTasks(principal: Principal): Conditions {
  return new Conditions().and('customer_id = ANY(?)', [principal.customerId]);
}

/** The customer's tasks, to be counted: the equality, which counts them through `(customer_id, id)` alone. */
function ownTasksCounted(principal: Principal): Conditions {
  return new Conditions().and('customer_id = ?', principal.customerId);
}

/** Newest first, in the order of the `(customer_id, id)` index (see {@link ownTasks}). */
const NEWEST_FIRST = 'customer_id DESC, id DESC';

/** Task ids arrive as text (URL, GraphQL ID); anything that is not one cannot exist. */
function parseTaskId(id: string | number): number | undefined {
  const text = String(id);
  return ID_RE.test(text) && Number(text) <= Number.MAX_SAFE_INTEGER ? Number(text) : undefined;
}

const cursorOf = (task: Task): string => encodeCursor([task.id]);

/** The customer's view of export tasks: list, read, export now, download, clear. */
export class TaskService {
  constructor(
    private readonly config: Config,
    private readonly pool: pg.Pool,
    private readonly jobs: JobQueue,
    private readonly live?: TaskPubSub,
  ) {}

  /** State changes of the caller's tasks, optionally of one of its devices. */
  updates(em: EntityManager, principal: Principal, deviceId?: string | null): Promise<AsyncIterable<TaskUpdatedMessage>> {
    const live = this.live;
    if (!live) throw new Error('TaskService was built without a pub/sub');
    return deviceStream(em, principal, deviceId, (customerId) => live.subscribe(TASK_UPDATED, customerId));
  }

  /** Newest first. */
  list(em: EntityManager, principal: Principal, filter: TaskFilter, limit: number, offset: number): Promise<Task[]> {
    const where = ofState(ownTasks(principal), filter);
    return leanQuery(em, Task, `SELECT * FROM tasks WHERE ${where.sql} ORDER BY ${NEWEST_FIRST} LIMIT ? OFFSET ?`, [...where.values, limit, offset]);
  }

  /**
   * Every task, newest first, a batch at a time (keyset on the id), so that memory stays flat
   * however many the customer has.
   */
  async *listAll(em: EntityManager, principal: Principal, filter: TaskFilter, batchSize = 500): AsyncGenerator<Task[]> {
    let before: number | undefined;
    for (;;) {
      const where = ofState(ownTasks(principal), filter);
      if (before !== undefined) where.and('id < ?', before);
      const batch = await leanQuery(em, Task, `SELECT * FROM tasks WHERE ${where.sql} ORDER BY ${NEWEST_FIRST} LIMIT ?`, [...where.values, batchSize]);
      if (batch.length > 0) yield batch;
      if (batch.length < batchSize) return;
      before = batch[batch.length - 1]!.id;
    }
  }

  /** Newest first, `first` after the cursor. */
  async connection(
    em: EntityManager,
    principal: Principal,
    search: TaskSearch,
    first?: number | null,
    after?: string | null,
    columns?: readonly string[],
    related?: RelatedRows,
  ): Promise<ConnectionShape<Task>> {
    const size = pageSize(first, 20);
    const where = this.where(search, ownTasksCounted(principal));
    const before = after ? decodeCursor(after, ([id, ...rest]) => (rest.length === 0 && typeof id === 'number' ? parseTaskId(id) : undefined)) : undefined;
    const { rows, total: totalCount } = await leanPage(em, Task, {
      from: 'tasks k',
      where,
      pageWhere: this.where(search, ownTasks(principal)),
      after: before === undefined ? undefined : { sql: 'AND k.id < ?', values: [before] },
      columns: columnList('k', columns),
      orderBy: NEWEST_FIRST,
      limit: size + 1,
      related,
    });
    if (search.deviceId) await requireOwnedWhenNoneMatched(em, Device, principal, search.deviceId, 'Device', totalCount);
    return toConnection(rows, size, totalCount, cursorOf);
  }

  /**
   * The caller's tasks (`customer`, its scope) matching `search`. Another customer's device finds
   * nothing: its NOT_FOUND is settled once the answer is empty (see `connection`), at no statement more.
   */
  private where(search: TaskSearch, customer: Conditions): Conditions {
    const where = ofState(customer, search);
    if (search.deviceId !== undefined && search.deviceId !== null) {
      where.and('device_id = ?', filterId(search.deviceId, 'Device'));
    }
    for (const [name, op] of [
      ['from', '>='],
      ['to', '<='],
    ] as const) {
      const value = search[name];
      if (!value) continue;
      const at = canonicalIso(value);
      if (!at) throw invalidInput(`${name} must be an ISO-8601 time`);
      where.and(`created_at ${op} ?`, at);
    }
    return where;
  }

  /**
   * A link that downloads the current result without other credentials until it expires
   * (what a browser can follow); null when there is no result.
   */
  downloadUrlOf(task: Task): string | null {
    return task.resultPath ? signDownloadUrl(this.config, task.id, task.customer.id) : null;
  }

  /** The caller's task; another customer's id answers NOT_FOUND like an unknown one. */
  async get(em: EntityManager, principal: Principal, id: string | number): Promise<Task> {
    const taskId = parseTaskId(id);
    const [task] = taskId === undefined ? [] : await leanQuery(em, Task, 'SELECT * FROM tasks WHERE id = ? AND customer_id = ?', [taskId, principal.customerId]);
    if (!task) throw notFound('Task');
    return task;
  }

  /** The tasks of these trips (a trip has at most one), keyed by trip id. */
  async ofTrips(em: EntityManager, principal: Principal, tripIds: readonly string[], columns?: readonly string[]): Promise<Map<string, Task>> {
    const ids = tripIds.filter(isUuid);
    const tasks = ids.length
      ? await leanQuery(em, Task, `SELECT ${columnList('k', columns)} FROM tasks k WHERE k.trip_id = ANY(?) AND k.customer_id = ?`, [ids, principal.customerId])
      : [];
    return new Map(tasks.map((task) => [task.trip.id, task]));
  }

  /**
   * Exports a completed trip now (the legacy `POST tasks/`): creates its task or asks the
   * existing one for another run; a run in progress is followed by exactly one more.
   */
  async exportTrip(em: EntityManager, principal: Principal, tripId: string): Promise<{ task: Task; created: boolean }> {
    const trip = isUuid(tripId) ? await em.findOne(Trip, { id: tripId, customer: principal.customerId }) : null;
    if (!trip) throw notFound('Trip');
    if ((trip.state as TripState) !== TripState.COMPLETED) throw invalidInput(`Trip ${trip.id} is still in progress; it is exported when it ends`);
    const requested = await requestExport(this.pool, {
      tripId: trip.id,
      customerId: principal.customerId,
      deviceId: trip.device.id,
      delaySeconds: 0,
    });
    if (requested.state !== 'STARTED')
      publishTaskState(this.live, { id: requested.id, customerId: principal.customerId, deviceId: trip.device.id, tripId: trip.id }, requested.state, requested.revision);
    this.jobs.scheduleSoon('exports.run', { taskId: requested.id }, requested.dueAt);
    const task = await em.findOneOrFail(Task, { id: requested.id }, { refresh: true });
    return { task, created: requested.created };
  }

  /** Deletes the result file and stops its announcements. Clearing twice is not an error. */
  async clearResult(em: EntityManager, principal: Principal, id: string | number): Promise<Task> {
    const task = await this.get(em, principal, id);
    // The path is read and cleared in one statement: an export finishing at the same moment
    // publishes a new file that stays.
    const { rows } = await this.pool.query<{ result_path: string | null }>(
      `update tasks t set result_path = null, result_cleared_at = case when old.result_path is null then t.result_cleared_at else now() end
       from (select id, result_path from tasks where id = $1 for update) old
       where t.id = old.id
       returning old.result_path`,
      [task.id],
    );
    const cleared = rows[0]?.result_path;
    if (cleared) await rm(path.join(this.config.exportDir, cleared), { force: true });
    return em.findOneOrFail(Task, { id: task.id }, { refresh: true });
  }

  /** Opens the current result for reading; NOT_FOUND with the reason when there is none. */
  async openResult(em: EntityManager, principal: Principal, id: string | number): Promise<OpenResult> {
    return this.openFile(em, await this.get(em, principal, id));
  }

  /**
   * Opens the result for a signed download link (an announcement's `download_url`), which is
   * the credential: a forged, expired or another task's signature answers UNAUTHENTICATED,
   * the same whether or not the task exists.
   */
  async openSignedResult(em: EntityManager, id: string | number, expires: unknown, signature: unknown): Promise<OpenResult> {
    const taskId = parseTaskId(id);
    const task = taskId === undefined ? null : await em.findOne(Task, { id: taskId });
    if (!task || !verifyDownloadSignature(this.config, task.id, task.customer.id, expires, signature)) {
      throw unauthenticated('This download link is invalid or has expired');
    }
    return this.openFile(em, task);
  }

  private async openFile(em: EntityManager, found: Task): Promise<OpenResult> {
    let task = found;
    // A new run may replace the file between reading the row and opening it: read again once.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!task.resultPath) throw new AppError('NOT_FOUND', noResultReason(task));
      try {
        const file = await open(path.join(this.config.exportDir, task.resultPath), 'r');
        return { task, file, filename: `${task.trip.id}.json.gz` };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        task = await em.findOneOrFail(Task, { id: task.id }, { refresh: true });
      }
    }
    throw new AppError('NOT_FOUND', `Task ${task.id} has no result file`);
  }
}

function noResultReason(task: Task): string {
  if (task.resultClearedAt) return `Task ${task.id} has no result: it was cleared at ${task.resultClearedAt}`;
  if ((task.state as TaskState) === TaskState.FAILURE) return `Task ${task.id} has no result: the export failed (${task.error ?? 'unknown reason'})`;
  return `Task ${task.id} has no result yet (state ${task.state})`;
}
