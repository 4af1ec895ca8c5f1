/**
 * Every background job: its name, its payload type and (in `src/job-handlers.ts`) its handler, so a
 * job cannot be scheduled with the wrong payload or without a handler.
 */
export interface JobPayloads {
  /** Export one trip (its task). Scheduled at the task's due time; safe to run twice. */
  'exports.run': { readonly taskId: number };
  /** Fills the free export slots with due exports whose job was lost or found every slot busy. */
  'exports.sweep': Record<string, never>;
  /** Daily: announces again the results older than 2 hours that nobody cleared. */
  'exports.reannounce': Record<string, never>;
  /** Daily: drops records older than RETENTION_DAYS. */
  'records.retention': Record<string, never>;
  /** Repeating: compresses records past COMPACT_AFTER_SECONDS into segments, merges late rows into theirs. */
  'records.compact': Record<string, never>;
  'signals.retention': Record<string, never>;
}

export type JobName = keyof JobPayloads;

/** A job handler finishes well within its lock lifetime: long work runs apart (see ExportService). */
export type JobHandler<N extends JobName> = (payload: JobPayloads[N]) => Promise<void>;

export type JobRegistry = { readonly [N in JobName]: JobHandler<N> };

/** When and how often a job runs; `repeat` jobs are created once per name, whoever starts first. */
export interface JobOptions {
  readonly concurrency?: number;
  /** Milliseconds before an untouched running job counts as dead. */
  readonly lockLifetimeMs?: number;
  /** Interval in milliseconds or a cron expression (evaluated in UTC). */
  readonly repeat?: number | string;
}
