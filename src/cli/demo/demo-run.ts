/**
 * `npm run demo`: one trip through the whole product, as a new user would see it. Every step
 * goes through the public routes; each failure names the step it happened in.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ApiClient, ApiError, isServing } from '../../sim/api-client.js';
import { deviceBatches } from '../../sim/device-batches.js';
import { uploadBatch } from '../../sim/device-uploader.js';
import { type TimedRecord, tripRecords } from '../../sim/fleet-data.js';
import { createDevice, type SimDevice } from '../../sim/fleet-setup.js';
import { createRandom } from '../../sim/random.js';
import { DEMO_ROUTE } from '../../sim/routes.js';
import { createLocalCustomer } from '../local-customer.js';
import { isLoopback, type LocalService, startLocalService } from '../local-service.js';
import { ProgressBar } from '../progress-bar.js';
import { demoReport } from './demo-report.js';
import { checkExport } from './export-check.js';
import { exportFinishedDocument, type ExportWatch, watchExports } from './export-subscription.js';

export interface DemoOptions {
  readonly url: string;
  /** An API token of an existing customer; without one the demo creates a customer. */
  readonly token: string | undefined;
  readonly outDir: string;
  readonly exportTimeoutSeconds: number;
}

/** The export delay of the service the demo starts itself (the default is 600 s). */
const DEMO_EXPORT_DELAY_SECONDS = 2;
const DEMO_REOPEN_LIMIT_SECONDS = 2;
const ANNOUNCEMENT_TIMEOUT_MS = 20_000;
const UPLOAD_RETRY = { baseDelayMs: 500, maxDelayMs: 5_000, giveUpAfterMs: 30_000 };

interface LegacyTrip {
  readonly id: string;
  readonly start_time_utc: string;
  readonly end_time_utc: string | null;
  readonly distance_km: number;
  readonly state: string;
}
interface LegacyTask {
  readonly id: string | number;
  readonly kwargs: { readonly trip_id: string };
  readonly state: string;
  readonly error?: string | null;
}

export class DemoFailure extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DemoFailure';
  }
}

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw error instanceof DemoFailure ? error : new DemoFailure(name, error);
  }
}

export async function runDemo(options: DemoOptions, print: (line: string) => void = console.log): Promise<void> {
  const baseUrl = options.url.replace(/\/+$/, '');
  let service: LocalService | undefined;
  let watch: ExportWatch | undefined;
  // Ctrl-C or a SIGTERM must not leave the service the demo started (and its PostgreSQL) behind.
  const interrupted = () => void (service?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    service = await step('finding the service', () => findOrStartService(baseUrl, print));
    const ownService = service !== undefined;
    const account = await step('creating the demo customer', () => demoAccount(baseUrl, options.token));
    const client = new ApiClient(baseUrl, account.token);
    const device = await step('creating the device', () => demoDevice(client, account.created));
    print(`Device "${device.name}" (${device.id}) with auto-export on and a ${DEMO_REOPEN_LIMIT_SECONDS} s reopen limit.`);

    const subscription = await step('reading the schema', () => exportFinishedDocument(client));
    if (subscription) watch = watchExports(baseUrl, account.token, device.id, subscription);

    // A drive of about ten minutes that ended a few minutes ago, as if the van just parked.
    const timed = [...tripRecords({ startMicros: Date.now() * 1000 - 15 * 60e6, route: DEMO_ROUTE, random: createRandom(randomInt(2 ** 31)) })];
    const records = timed.map((r) => r.record);
    const batches = await step('uploading the trip', () => uploadTrip(baseUrl, device, timed));
    const trip = await step('reading the trip', () => endedTrip(client, device.id));
    print(`Trip ${trip.id} ended (${trip.distance_km.toFixed(2)} km).`);

    if (!ownService) {
      print(
        'This service was started elsewhere, so the demo cannot lower its export delay (EXPORT_MIN_DELAY_SECONDS, 600 s by default):\n' +
          'it asks for the export now with POST /tasks/, as a script would for an old trip.',
      );
      await step('asking for the export', () => client.json('POST', '/tasks/', { task: 'core.tasks.es_trip_export', args: [], kwargs: { trip_id: trip.id } }));
    }
    const task = await step('waiting for the export', () => waitForExport(client, trip.id, options.exportTimeoutSeconds));
    const { bytes, filename } = await step('downloading the export', () => client.download(`/tasks/${task.id}/result/`));
    const checked = await step('checking the export', async () => {
      if (filename !== undefined && filename !== `${trip.id}.json.gz`) throw new Error(`the download is named ${filename}, expected ${trip.id}.json.gz`);
      return checkExport(bytes, { tripId: trip.id, uploaded: records, unitId: device.unitId, vehicleId: device.vehicleId });
    });
    const file = path.join(options.outDir, `${trip.id}.json.gz`);
    await step('saving the export', async () => {
      await mkdir(options.outDir, { recursive: true });
      await writeFile(file, bytes);
    });
    const announcement = watch
      ? await step('waiting for the announcement', async () => {
          const event = await withTimeout(watch!.first, ANNOUNCEMENT_TIMEOUT_MS, 'no tripExportFinished event arrived');
          if (subscription?.includes('trip {') && !JSON.stringify(event).includes(trip.id)) throw new Error(`the event names another trip: ${JSON.stringify(event)}`);
          return event;
        })
      : undefined;

    print(
      demoReport({
        baseUrl,
        ownService,
        token: account.token,
        email: account.email,
        device,
        trip,
        taskId: task.id,
        batches,
        uploaded: records.length,
        file,
        checked,
        subscription,
        announcement,
      }),
    );
  } finally {
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
    await watch?.close();
    if (service) {
      print('Stopping the service the demo started…');
      await service.stop();
    }
  }
}

async function findOrStartService(baseUrl: string, print: (line: string) => void): Promise<LocalService | undefined> {
  if (await isServing(baseUrl)) {
    print(`Using the trip-export service at ${baseUrl}.`);
    return undefined;
  }
  if (!isLoopback(baseUrl)) throw new Error(`no trip-export service answers at ${baseUrl}`);
  print(`No service answers at ${baseUrl}: starting one (dist/src/main.js)…`);
  const service = await startLocalService(baseUrl, { EXPORT_MIN_DELAY_SECONDS: String(DEMO_EXPORT_DELAY_SECONDS) });
  print(`The demo lowered the export delay to ${DEMO_EXPORT_DELAY_SECONDS} s for its own service (EXPORT_MIN_DELAY_SECONDS is 600 s by default).`);
  return service;
}

async function demoAccount(baseUrl: string, token: string | undefined): Promise<{ token: string; email?: string; created: boolean }> {
  if (token) return { token, created: false };
  if (!isLoopback(baseUrl)) throw new Error(`the service at ${baseUrl} is not on this machine: pass --token with an API token of your customer`);
  const stamp = new Date().toISOString().slice(0, 19).replace(/\D/g, '');
  const email = `demo-${stamp}-${randomBytes(3).toString('hex')}@demo.trip-export.test`;
  const created = await createLocalCustomer({ name: 'Demo fleet', email, password: randomBytes(12).toString('base64url') }, { startEmbedded: false });
  return { token: created.api_token, email, created: true };
}

async function demoDevice(client: ApiClient, customerCreatedHere: boolean): Promise<SimDevice> {
  try {
    return await createDevice(client, 'Demo van', randomInt(1000, 10000), { autoExport: true, reopenLimitSeconds: DEMO_REOPEN_LIMIT_SECONDS });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && customerCreatedHere) {
      throw new Error(
        "the service refused the new customer's API token: the customer was created in another database than the service uses. " +
          'Run the demo with the DATABASE_URL of the service, or pass --token.',
      );
    }
    throw error;
  }
}

/** Uploads like the device: one gzipped batch per minute of logging, at most 1,000 records each. */
async function uploadTrip(baseUrl: string, device: SimDevice, records: readonly TimedRecord[]): Promise<number> {
  const bar = new ProgressBar('uploading');
  let sent = 0;
  let batches = 0;
  let ended = 0;
  try {
    for (const batch of deviceBatches(records, 60, 1000)) {
      const answer = await uploadBatch(baseUrl, device, batch.records, UPLOAD_RETRY);
      sent += batch.records.length;
      batches += 1;
      ended += answer.trips.ended;
      bar.update(sent / records.length, `${sent.toLocaleString('en-US')} of ${records.length.toLocaleString('en-US')} records, ${batches} batches`);
    }
  } catch (error) {
    bar.abort(`stopped after ${sent} records`);
    throw error;
  }
  bar.finish(`${records.length.toLocaleString('en-US')} records in ${batches} batches`);
  if (ended !== 1) throw new Error(`the service reported ${ended} trip ends for one drive`);
  return batches;
}

async function endedTrip(client: ApiClient, deviceId: string): Promise<LegacyTrip> {
  const page = await client.json<{ count: number; results: LegacyTrip[] }>('GET', `/logbook/trips/?device=${deviceId}`);
  const trip = page.results[0];
  if (page.count !== 1 || !trip) throw new Error(`expected one trip for the device, the service lists ${page.count}`);
  if (trip.state !== 'completed' || !trip.end_time_utc) throw new Error(`trip ${trip.id} is ${trip.state}, expected completed`);
  return trip;
}

/** Polls `GET /tasks/` until the trip's export task succeeds, showing its state meanwhile. */
async function waitForExport(client: ApiClient, tripId: string, timeoutSeconds: number): Promise<LegacyTask> {
  const bar = new ProgressBar('exporting');
  const started = Date.now();
  for (;;) {
    const tasks = await client.json<LegacyTask[]>('GET', '/tasks/');
    const task = tasks.find((t) => t.kwargs?.trip_id === tripId);
    const waited = Math.round((Date.now() - started) / 1000);
    if (task?.state === 'SUCCESS') {
      bar.finish(`task ${task.id} SUCCESS after ${waited} s`);
      return task;
    }
    if (task?.state === 'FAILURE') {
      bar.abort(`task ${task.id} FAILURE`);
      throw new Error(`the export task ${task.id} failed: ${task.error ?? 'no reason given'}`);
    }
    if (waited > timeoutSeconds) {
      bar.abort('gave up');
      throw new Error(`no finished export after ${timeoutSeconds} s (${task ? `task ${task.id} is ${task.state}` : 'no task for the trip'})`);
    }
    bar.update(undefined, task ? `task ${task.id} ${task.state}, ${waited} s` : `waiting for the export task, ${waited} s`);
    await sleep(500);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
