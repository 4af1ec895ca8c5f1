import { setTimeout as sleep } from 'node:timers/promises';

import type { JobName, JobOptions, JobRegistry } from './jobs/job-registry.js';
import { pruneSignals } from './modules/announcements/signal-stream.js';
import { reannounceResults } from './modules/exports/reannounce.js';
import { compactDue, compactionSettings } from './modules/ingest/compaction.js';
import { dropExpiredRecords } from './modules/ingest/retention.js';
import type { Services } from './services.js';

/** The handler of every job. Each is thin: it calls one service function. */
export function jobRegistry(services: Services): JobRegistry {
  const { exports, db, config, log, metrics } = services;
  return {
    // Both only claim work for free export slots and return; the exports run on in those slots.
    'exports.run': async ({ taskId }) => {
      await exports.startTask(taskId);
    },
    'exports.sweep': async () => {
      await exports.startDueTasks();
    },
    'exports.reannounce': async () => {
      await reannounceResults(db.pool);
    },
    'records.retention': async () => {
      if (config.retentionDays) await dropExpiredRecords(db.pool, config.retentionDays);
    },
    'records.compact': async () => {
      if (!config.compactEnabled) return;
      // Half the job lock: the run ends long before another worker could take the job over.
      const run = await compactDue(db.pool, compactionSettings(config, (config.exportLeaseSeconds * 1000) / 2), (deviceId, error) =>
        log.error({ err: error, deviceId }, 'compacting the records of a device failed'),
      );
      metrics.recordsCompacted.inc({ kind: 'new' }, run.records);
      metrics.recordsCompacted.inc({ kind: 'late' }, run.merged);
      if (run.records || run.merged) log.debug(run, 'records compacted');
      if (run.reclaimed.length) log.info({ partitions: run.reclaimed }, 'month partitions emptied by compaction gave back their pages');
    },
    'signals.retention': async () => {
      await pruneSignals(db.pool, config.announcementReplayDays);
    },
  };
}

/** How each job is run; `repeat` jobs exist once in the job store, however many workers start. */
function jobOptions(services: Services): { readonly [N in JobName]: JobOptions } {
  const { config } = services;
  // Agenda keeps a process alive for half the lock lifetime after each run (its liveness
  // check sleeps that long, unref'd it is not), so every job gets the export lease (short in
  // tests); the export jobs end once they have claimed, and the daily jobs are idempotent if a
  // second worker ever re-runs them.
  const lockLifetimeMs = config.exportLeaseSeconds * 1000;
  return {
    'exports.run': { concurrency: config.exportConcurrency, lockLifetimeMs },
    'exports.sweep': { lockLifetimeMs, repeat: config.exportSweepSeconds * 1000 },
    'exports.reannounce': { lockLifetimeMs, repeat: `0 ${config.reannounceHourUtc} * * *` },
    // An hour after the announcements, when nothing else of ours is busy.
    'records.retention': { lockLifetimeMs, repeat: `0 ${(config.reannounceHourUtc + 1) % 24} * * *` },
    'records.compact': { lockLifetimeMs, repeat: config.compactEverySeconds * 1000 },
    // Announcements past the replay window: every day with the records, whatever RETENTION_DAYS says.
    'signals.retention': { lockLifetimeMs, repeat: `30 ${(config.reannounceHourUtc + 1) % 24} * * *` },
  };
}

/** Makes this process run jobs (roles `all` and `worker`). */
export async function startJobs(services: Services): Promise<void> {
  const { jobs } = services;
  const handlers = jobRegistry(services);
  const options = jobOptions(services);
  const names = Object.keys(handlers) as JobName[];
  for (const name of names) await jobs.define(name, handlers[name] as never, options[name]);
  await jobs.start();
  for (const name of names) {
    const every = options[name].repeat;
    if (every !== undefined) await jobs.repeat(name, {}, every);
  }
}

/**
 * Stops taking work, lets running exports and jobs finish for a while, abandons what still
 * runs (its lease passes to another worker), disconnects. Safe when jobs never started.
 */
export async function stopJobs(services: Services, graceMs = 30_000): Promise<void> {
  services.exports.stopClaiming();
  const timer = setTimeout(() => services.exports.abortRuns(), graceMs);
  try {
    // Exports first: a run that ends may still schedule its follow-up.
    await Promise.race([services.exports.idle(), sleep(graceMs + 5_000, undefined, { ref: false })]);
    await services.jobs.close(graceMs + 5_000);
  } finally {
    clearTimeout(timer);
  }
}
