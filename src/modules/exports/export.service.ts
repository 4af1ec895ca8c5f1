import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type pg from 'pg';

import type { Config } from '../../config/config.js';
import { transaction } from '../../db/pg-transaction.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { DeviceDeletedEvent, Queryable, TripEndEvent, TripsChangedEvent } from '../../lib/domain-events.js';
import type { Metrics } from '../../lib/metrics.js';
import { effectiveSettings, type PartialTripSettings } from '../devices/trip-settings.js';
import { insertExportSignal, reasonOfRevision } from './export-signal.js';
import { NoRecordsError, removeStaleFiles, writeExport } from './export-writer.js';
import { type ClaimedTask, claimTask, finishFailure, finishSuccess, renewLease, type RequestedTask, requestExport } from './task-lease.store.js';
import { publishTaskState, type TaskOf, type TaskPubSub } from './task-topics.js';

/** An export claimed and running in one of this process's slots. */
export interface StartedRun {
  readonly taskId: number;
  readonly done: Promise<void>;
}

const taskOf = (task: ClaimedTask): TaskOf => ({ id: task.id, customerId: task.subject.customerId, deviceId: task.subject.device.id, tripId: task.subject.tripId });

class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/**
 * Exports trips: schedules the export when an auto-export trip ends, claims due tasks and
 * runs them. Every decision is taken by a conditional statement in PostgreSQL (see
 * `task-lease.store.ts`); the job runner only wakes this service up.
 *
 * Runs happen in this process's export slots (EXPORT_CONCURRENCY of them), apart from the
 * jobs that start them: a job claims at most as many tasks as there are free slots and
 * returns, so no job outlives its lock however long the backlog (a sweep that worked through
 * the backlog itself outlived its lock, was run again beside itself and exceeded the limit).
 * The task's lease, renewed while the run works, is what keeps other workers off it; a run
 * that ends hands its slot to the next due task at once, so a backlog drains at full speed.
 */
export class ExportService {
  private claiming = true;
  /** Slots taken: claims under way plus runs in flight; never more than EXPORT_CONCURRENCY. */
  private slotsTaken = 0;
  private readonly runs = new Set<Promise<void>>();
  /** Aborts running exports when shutdown cannot wait for them; their leases run out and another worker redoes them. */
  private readonly shutdown = new AbortController();

  constructor(
    private readonly config: Config,
    private readonly pool: pg.Pool,
    private readonly jobs: JobQueue,
    /** Export runs, durations and sizes for `/metrics`; the benchmark runs without. */
    private readonly metrics?: Pick<Metrics, 'exports' | 'exportDuration' | 'exportBytes'>,
    /** Where `taskUpdated` subscribers hear of state changes; the benchmark runs without. */
    private readonly live?: TaskPubSub,
  ) {}

  /**
   * The `trip_end` handler, inside the transaction that ended the trip: the task commits with
   * the end. The export is due when the reopen window has passed (never sooner than the
   * minimum delay), counted from the end, or from now when the end arrives late: data
   * uploaded after a late end needs the same time to arrive.
   */
  async onTripEnd(tx: Queryable, event: TripEndEvent): Promise<(() => void) | void> {
    const delaySeconds = await this.autoExportDelay(tx, event.deviceId);
    if (delaySeconds === undefined) return;
    const task = await requestExport(tx, {
      tripId: event.tripId,
      customerId: event.customerId,
      deviceId: event.deviceId,
      notBefore: event.endTimeUtc,
      delaySeconds,
    });
    return () => {
      // A running task stays STARTED (its finish goes back to PENDING): no change to tell.
      if (task.state !== 'STARTED') publishTaskState(this.live, { ...event, id: task.id }, task.state, task.revision);
      this.jobs.scheduleSoon('exports.run', { taskId: task.id }, task.dueAt);
    };
  }

  /**
   * The trips-changed handler (late data), inside the upload's transaction: each trip already
   * exported (or being exported, or waiting) is asked for one more run, due the same delay after
   * now, since more late data may follow; so a burst of late batches moves the due time along
   * and ends in one run. A run in progress is followed by exactly one more. Only trips that
   * have a task: a trip ended while auto-export was off was never exported, and is not now.
   */
  async onTripsChanged(tx: Queryable, event: TripsChangedEvent): Promise<(() => void) | void> {
    const delaySeconds = await this.autoExportDelay(tx, event.deviceId);
    if (delaySeconds === undefined) return;
    const { rows } = await tx.query<{ trip_id: string }>('select trip_id from tasks where trip_id = any($1::uuid[]) and customer_id = $2 order by trip_id', [
      event.tripIds,
      event.customerId,
    ]);
    const requested: (RequestedTask & { tripId: string })[] = [];
    for (const { trip_id: tripId } of rows) {
      requested.push({ ...(await requestExport(tx, { tripId, customerId: event.customerId, deviceId: event.deviceId, delaySeconds })), tripId });
    }
    return () => {
      for (const task of requested) {
        if (task.state !== 'STARTED') publishTaskState(this.live, { ...event, id: task.id, tripId: task.tripId }, task.state, task.revision);
        this.jobs.scheduleSoon('exports.run', { taskId: task.id }, task.dueAt);
      }
    };
  }

  /** The device's delay before an automatic export, `max(reopen limit, floor)`; undefined without auto-export. */
  private async autoExportDelay(tx: Queryable, deviceId: string): Promise<number | undefined> {
    const { rows } = await tx.query<{ own: PartialTripSettings | null; template: PartialTripSettings | null }>(
      'select d.settings as own, t.settings as template from devices d left join templates t on t.id = d.template_id where d.id = $1',
      [deviceId],
    );
    const settings = effectiveSettings(rows[0]?.template, rows[0]?.own);
    return settings.autoExport ? Math.max(settings.reopenLimitSeconds, this.config.exportMinDelaySeconds) : undefined;
  }

  /**
   * The `device_deleted` handler: the device's tasks go in its transaction, their trips'
   * export folders after the commit (a rollback must find its files still there). A run of
   * one of them still writing loses its lease with the row, so it never publishes a file.
   */
  async onDeviceDeleted(tx: Queryable, event: DeviceDeletedEvent): Promise<() => Promise<void>> {
    const { rows } = await tx.query<{ trip_id: string }>('delete from tasks where device_id = $1 returning trip_id', [event.deviceId]);
    return async () => {
      await Promise.all(rows.map((row) => rm(path.join(this.config.exportDir, row.trip_id), { recursive: true, force: true })));
    };
  }

  /**
   * Starts the task's export if it is due and free and a slot is free; otherwise does nothing
   * (a job may fire more than once; with every slot busy, a finishing run takes the task).
   * Resolves once claimed; the run goes on (`done` never rejects).
   */
  startTask(taskId: number): Promise<StartedRun | undefined> {
    return this.claimAndStart(taskId);
  }

  /** Fills the free slots with due tasks, oldest first: the safety net for lost jobs. Resolves with the number started. */
  async startDueTasks(): Promise<number> {
    let started = 0;
    while (await this.claimAndStart()) started++;
    return started;
  }

  /** Resolves when no export runs in this process any more (shutdown, after `stopClaiming`). */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs]);
  }

  private async claimAndStart(taskId?: number): Promise<StartedRun | undefined> {
    if (!this.claiming || this.slotsTaken >= this.config.exportConcurrency) return undefined;
    // Taken before the claim's round trip, so two callers cannot both fill the last slot.
    this.slotsTaken++;
    let task: ClaimedTask | undefined;
    try {
      task = await claimTask(this.pool, this.runOwner(), this.config.exportLeaseSeconds, taskId);
    } finally {
      if (!task) this.slotsTaken--;
    }
    if (!task) return undefined;
    const claimed = task;
    publishTaskState(this.live, taskOf(claimed), 'STARTED', claimed.revision);
    const done: Promise<void> = this.run(claimed)
      .catch((err: unknown) => this.jobs.log.error({ err, taskId: claimed.id }, 'export run failed'))
      .finally(() => {
        this.slotsTaken--;
        this.runs.delete(done);
        this.startDueTasks().catch((err: unknown) => this.jobs.log.warn({ err }, 'could not claim the next due export'));
      });
    this.runs.add(done);
    // Wrapped: a promise resolved with a promise would wait for the whole run.
    return { taskId: claimed.id, done };
  }

  /**
   * A lease holder per run, not per process: should this process stall past its own lease and
   * claim the task again, the stalled run cannot finish over the new one.
   */
  private runOwner(): string {
    return `${this.jobs.workerId}/${randomBytes(4).toString('hex')}`;
  }

  /** Stops taking new tasks (shutdown); running exports finish. */
  stopClaiming(): void {
    this.claiming = false;
  }

  /** Abandons running exports (shutdown ran out of time). Nothing half-written is published. */
  abortRuns(): void {
    this.shutdown.abort(new LeaseLostError('worker shutting down'));
  }

  private async run(task: ClaimedTask): Promise<void> {
    const lost = new AbortController();
    const stop = AbortSignal.any([lost.signal, this.shutdown.signal]);
    const heartbeat = this.keepLease(task, lost);
    let outcome: { state: string; dueAt: string | null; revision: number } | undefined;
    try {
      if (task.attempts > this.config.exportMaxAttempts) {
        outcome = await this.fail(task, `the export was interrupted ${task.attempts - 1} times (worker stopped or crashed)`, true);
        return;
      }
      outcome = await this.export(task, stop);
      this.metrics?.exports.inc({ state: 'SUCCESS' });
    } catch (error) {
      if (error instanceof LeaseLostError || stop.aborted) return;
      const reason = error instanceof Error ? error.message : String(error);
      outcome = await this.fail(task, reason, error instanceof NoRecordsError);
    } finally {
      heartbeat.stop();
      await heartbeat.done;
      // Committed by now; no outcome means the lease was lost and the new holder tells.
      if (outcome) publishTaskState(this.live, taskOf(task), outcome.state, outcome.revision);
      // A request that came in during the run, or a retry, needs a job at its due time.
      if (outcome?.state === 'PENDING') this.jobs.scheduleSoon('exports.run', { taskId: task.id }, outcome.dueAt ?? undefined);
    }
  }

  private async export(task: ClaimedTask, signal: AbortSignal): Promise<{ state: string; dueAt: string | null; revision: number } | undefined> {
    const { subject } = task;
    const endTimer = this.metrics?.exportDuration.startTimer();
    const result = await writeExport(
      this.pool,
      {
        tripId: subject.tripId,
        deviceId: subject.device.id,
        startTs: subject.startTimeUtc,
        // The claim only takes tasks of completed trips, read under the same lock.
        endTs: subject.endTimeUtc!,
        header: JSON.stringify(subject.trip),
      },
      {
        exportDir: this.config.exportDir,
        gzipLevel: this.config.exportGzipLevel,
        maxBytesPerSecond: this.config.exportMaxBytesPerSecond,
        retentionDays: this.config.retentionDays,
        signal,
      },
    );
    const finished = await transaction(this.pool, async (tx) => {
      const state = await finishSuccess(tx, task.id, task.owner, result);
      if (state?.state === 'SUCCESS') await insertExportSignal(tx, reasonOfRevision(state.revision), { ...task, revision: state.revision }, subject, result);
      return state;
    });
    if (!finished) {
      // Another worker owns the task now; this file was never published.
      await rm(path.join(this.config.exportDir, result.path), { force: true });
      throw new LeaseLostError(`task ${task.id} was taken over`);
    }
    await removeStaleFiles(this.config.exportDir, subject.tripId, result.path);
    endTimer?.();
    this.metrics?.exportBytes.observe(result.bytes);
    return finished;
  }

  private async fail(task: ClaimedTask, reason: string, permanent: boolean) {
    const outcome = await finishFailure(this.pool, task.id, task.owner, {
      reason,
      permanent,
      maxAttempts: this.config.exportMaxAttempts,
      retryBaseSeconds: this.config.exportRetryBaseSeconds,
    });
    // No outcome: the lease was lost, and the run is another worker's to count.
    if (outcome) this.metrics?.exports.inc({ state: outcome.state === 'PENDING' ? 'RETRY' : 'FAILURE' });
    return outcome;
  }

  /** Renews the lease a few times per lease; aborts the run when the lease is gone. */
  private keepLease(task: ClaimedTask, lost: AbortController): { stop(): void; done: Promise<void> } {
    const stopped = new AbortController();
    const every = (this.config.exportLeaseSeconds * 1000) / 3;
    const done = (async () => {
      while (!stopped.signal.aborted) {
        await sleep(every, undefined, { signal: stopped.signal }).catch(() => undefined);
        if (stopped.signal.aborted) return;
        try {
          if (!(await renewLease(this.pool, task.id, task.owner, this.config.exportLeaseSeconds))) {
            lost.abort(new LeaseLostError(`lease on task ${task.id} lost`));
            return;
          }
        } catch (err) {
          // A failed renewal is retried next beat; if the lease runs out meanwhile, the finish notices.
          this.jobs.log.warn({ err, taskId: task.id }, 'could not renew export lease');
        }
      }
    })();
    return { stop: () => stopped.abort(), done };
  }
}
