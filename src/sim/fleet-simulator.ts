/**
 * A fleet of simulated devices uploading like real ones: every few seconds of device time a
 * batch of at most `maxBatch` records; a failed upload is retried with backoff until a 2xx;
 * now and then a batch is held back and sent after later ones (a device that lost its
 * connection). Fast-forward by default: device time runs ahead as fast as the service takes it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { type Batch, deviceBatches } from './device-batches.js';
import { type UploadAnswer, uploadBatch } from './device-uploader.js';
import { deviceRecords, type SimRecord } from './fleet-data.js';
import type { SimDevice } from './fleet-setup.js';
import { destination } from './geo.js';
import { Limiter } from './limiter.js';
import { createRandom, type Random } from './random.js';
import type { RetryPolicy } from './retry.js';
import { DEMO_ROUTE } from './routes.js';

export interface SimulationOptions {
  /** The service; with several instances each upload attempt goes to the next one, as behind a balancer. */
  readonly baseUrls: readonly string[];
  readonly devices: readonly SimDevice[];
  readonly recordsPerSecond: number;
  readonly minutes: number;
  /** Pace uploads to the wall clock (device time = now) instead of fast-forwarding. */
  readonly realtime: boolean;
  /** Share of batches (without trip events) that arrive after later ones. */
  readonly lateFraction: number;
  readonly intervalSeconds: number;
  readonly maxBatch: number;
  /** Uploads in flight at once across the fleet. */
  readonly parallel: number;
  readonly seed: number;
  readonly retry: RetryPolicy;
  readonly onRetry?: (device: SimDevice, error: unknown, attempt: number, delayMs: number) => void;
  readonly onGiveUp?: (device: SimDevice, error: unknown) => void;
  /** Told of every batch the service acknowledged with 2xx. */
  readonly onUploaded?: (device: SimDevice, records: readonly SimRecord[], answer: UploadAnswer) => void;
  /** Once aborted, each device finishes the trip it is driving (so every trip can end) and stops. */
  readonly signal?: AbortSignal;
}

export interface SimulationStats {
  /** Records in batches the service acknowledged with 2xx. */
  records: number;
  /** Records the service said it stored (a duplicate batch stores none). */
  stored: number;
  batches: number;
  /** Acknowledged batches the service had already stored (a retry after a lost answer). */
  duplicates: number;
  retries: number;
  lateBatches: number;
  failedBatches: number;
  failedRecords: number;
  tripsStarted: number;
  tripsEnded: number;
  elapsedMs: number;
  /** Device time uploaded so far over device time to upload, in [0, 1]. */
  progress: number;
}

/** Holds back at most this many later batches before a late one goes out. */
const MAX_LATENESS = 3;

/** Whether the engine runs after `batch`: its last engine event, else what it was before. */
function engineRunsAfter(batch: Batch, before: boolean): boolean {
  for (let i = batch.records.length - 1; i >= 0; i--) {
    const record = batch.records[i]!;
    if (record['@t'] === 'event.vehicle.engine') return record['@tag'] === 'vehicle/engine/running';
  }
  return before;
}

export async function simulateFleet(options: SimulationOptions, onProgress?: (stats: SimulationStats) => void): Promise<SimulationStats> {
  const started = Date.now();
  const stats: SimulationStats = {
    records: 0,
    stored: 0,
    batches: 0,
    duplicates: 0,
    retries: 0,
    lateBatches: 0,
    failedBatches: 0,
    failedRecords: 0,
    tripsStarted: 0,
    tripsEnded: 0,
    elapsedMs: 0,
    progress: 0,
  };
  const limiter = new Limiter(options.parallel);
  const root = createRandom(options.seed);
  const totalMicros = options.minutes * 60e6;
  const done = options.devices.map(() => 0);
  const report = () => {
    stats.elapsedMs = Date.now() - started;
    stats.progress = done.reduce((sum, d) => sum + Math.min(d, totalMicros), 0) / (totalMicros * options.devices.length);
    onProgress?.(stats);
  };
  const ticker = setInterval(report, 250);
  let nextUrl = 0;
  const target = (): string => options.baseUrls[nextUrl++ % options.baseUrls.length]!;

  const send = async (device: SimDevice, batch: Batch): Promise<void> => {
    try {
      const answer = await limiter.run(() =>
        uploadBatch(target, device, batch.records, options.retry, (error, attempt, delay) => {
          stats.retries += 1;
          options.onRetry?.(device, error, attempt, delay);
        }),
      );
      stats.records += batch.records.length;
      stats.stored += answer.stored;
      stats.batches += 1;
      if (answer.duplicate) stats.duplicates += 1;
      stats.tripsStarted += answer.trips.started;
      stats.tripsEnded += answer.trips.ended;
      options.onUploaded?.(device, batch.records, answer);
    } catch (error) {
      stats.failedBatches += 1;
      stats.failedRecords += batch.records.length;
      options.onGiveUp?.(device, error);
    }
  };

  const runDevice = async (device: SimDevice, index: number, random: Random): Promise<void> => {
    const now = Date.now() * 1000;
    // Devices do not start in step: each has its own offset into the first upload interval.
    const startMicros = Math.round((options.realtime ? now : now - totalMicros) + random.next() * options.intervalSeconds * 1e6);
    const home = destination(DEMO_ROUTE.points[0]!, random.between(0, 360), random.between(0, 15_000));
    const records = deviceRecords({ startMicros, seconds: options.minutes * 60, random, home, recordsPerSecond: options.recordsPerSecond });
    const held: { batch: Batch; after: number }[] = [];
    let driving = false;
    for (const batch of deviceBatches(records, options.intervalSeconds, options.maxBatch)) {
      if (options.signal?.aborted && !driving) break;
      driving = engineRunsAfter(batch, driving);
      if (options.realtime) await sleep(Math.max(0, batch.dueAt / 1000 - Date.now()));
      for (const late of held) late.after -= 1;
      // Batches with trip events keep their order: a late engine-off would leave a trip open.
      if (!batch.hasEvents && random.chance(options.lateFraction)) {
        held.push({ batch, after: random.int(1, MAX_LATENESS) });
        stats.lateBatches += 1;
      } else await send(device, batch);
      for (const late of held.filter((h) => h.after <= 0)) {
        held.splice(held.indexOf(late), 1);
        await send(device, late.batch);
      }
      done[index] = batch.dueAt - startMicros;
    }
    for (const late of held) await send(device, late.batch);
    done[index] = totalMicros;
  };

  try {
    await Promise.all(options.devices.map((device, index) => runDevice(device, index, root.fork())));
  } finally {
    clearInterval(ticker);
  }
  report();
  return stats;
}
