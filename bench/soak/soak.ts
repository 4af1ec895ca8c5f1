/**
 * `npm run soak -- --minutes N`: the fleet simulator against two instances of the service on
 * their own PostgreSQL while faults hit them, then a check from outside that nothing was lost,
 * doubled or left unannounced. Stops by itself; removes everything it started, also on Ctrl-C.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { parseOptions, runCommand, usage, UsageError } from '../../src/cli/cli-options.js';
import { createLocalCustomer } from '../../src/cli/local-customer.js';
import { ApiError } from '../../src/sim/api-client.js';
import { simulateFleet, type SimulationStats } from '../../src/sim/fleet-simulator.js';
import { freePort } from '../../test/support/process.js';
import { AckedRecords } from './acked-records.js';
import { FAULT_KINDS, type FaultKind, injectFaults, parseFaultKinds } from './fault-injector.js';
import { type Crash, ServiceInstance } from './service-instance.js';
import { SoakApi } from './soak-api.js';
import { SoakPostgres } from './soak-postgres.js';
import { soakTable } from './soak-report.js';
import { settled, verify } from './soak-verify.js';
import { startWebhookSink } from './webhook-sink.js';

const OPTIONS = {
  minutes: { kind: 'number', default: 3, min: 0.1, max: 24 * 60, description: 'minutes of load and faults (draining and checking come after)' },
  devices: { kind: 'number', default: 8, min: 1, max: 1000, integer: true, description: 'simulated devices' },
  hz: { kind: 'number', default: 10, min: 0.1, max: 1000, description: 'records per second each device logs while driving' },
  interval: { kind: 'number', default: 20, min: 1, max: 3600, description: "seconds of device time between a device's uploads" },
  parallel: { kind: 'number', default: 4, min: 1, max: 256, integer: true, description: 'uploads in flight at once' },
  faults: { kind: 'string', default: FAULT_KINDS.join(','), description: 'faults injected in turn, or none' },
  'fault-every': { kind: 'number', default: 20, min: 1, max: 3600, description: 'seconds of calm before each fault' },
  'pg-down': { kind: 'number', default: 10, min: 0, max: 600, description: 'seconds PostgreSQL stays stopped' },
  'webhook-fail': { kind: 'number', default: 15, min: 1, max: 600, description: 'seconds the webhook receiver answers 503' },
  'webhook-hang': { kind: 'number', default: 15, min: 1, max: 600, description: 'seconds the webhook receiver never answers' },
  drain: { kind: 'number', default: 300, min: 5, max: 3600, description: 'seconds at most to wait after the load for exports and announcements' },
  'give-up': { kind: 'number', default: 300, min: 10, max: 86_400, description: 'seconds a device retries an upload before it gives the batch up' },
  seed: { kind: 'number', default: 0, min: 0, max: 2 ** 32 - 1, integer: true, description: 'random seed of the fleet (0: a new one each run)' },
  keep: { kind: 'flag', description: 'keep the temp folder (database, export files, instance logs)' },
  json: { kind: 'flag', description: 'also print the outcome as one JSON line' },
} as const;

/**
 * Short pauses, so that retries run their course within a soak of minutes: delivery retries
 * outlast the receiver's longest failure; a killed worker's export is taken over within seconds.
 * Other service variables in the soak's environment (EXPORT_CONCURRENCY...) reach the instances.
 */
const SERVICE_ENV = {
  LOG_LEVEL: 'warn',
  EXPORT_MIN_DELAY_SECONDS: '2',
  EXPORT_LEASE_SECONDS: '10',
  EXPORT_SWEEP_SECONDS: '5',
  EXPORT_RETRY_BASE_SECONDS: '2',
  EXPORT_MAX_ATTEMPTS: '10',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_TIMEOUT_MS: '3000',
  DELIVERY_RETRY_SECONDS: '1,2,4,8,8,8,8,8,8,8,8,8,8',
  JOB_POLL_MS: '500',
  // The soak's instances use nothing of the machine's but loopback ports and a temp folder.
  MONGODB_URL: '',
  REDIS_URL: '',
  SMTP_URL: '',
};
/** Device time the fleet could cover: more than any soak uploads, so the clock, not the data, ends the load. */
const FLEET_MINUTES = 7 * 24 * 60;
const STATUS_EVERY_MS = 15_000;
const DRAIN_POLL_MS = 2_000;

const n = (value: number): string => Math.round(value).toLocaleString('en-US');
const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Undo steps, run once, newest first: instances before the database they use, the folder last. */
class Cleanup {
  private readonly steps: (() => Promise<unknown>)[] = [];
  private done: Promise<void> | undefined;
  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }
  run(): Promise<void> {
    this.done ??= (async () => {
      for (const step of this.steps.reverse()) await step().catch((error: unknown) => console.error(`cleanup: ${reason(error)}`));
    })();
    return this.done;
  }
}

/** How a failed upload attempt ended, for the table: the status, or no answer at all. */
function failureKind(error: unknown): string {
  return error instanceof ApiError && error.status !== undefined ? String(error.status) : 'no answer';
}

async function soak(o: ReturnType<typeof parseOptions<typeof OPTIONS>>, kinds: FaultKind[], cleanup: Cleanup): Promise<number> {
  const started = Date.now();
  const clock = (): string => new Date(Date.now() - started).toISOString().slice(11, 19);
  const say = (line: string): void => console.log(`[${clock()}] ${line}`);

  const tmp = await mkdtemp(path.join(tmpdir(), 'trip-export-soak-'));
  cleanup.add(async () => (o.keep ? say(`kept ${tmp} (instance logs: ${path.join(tmp, 'instance-*.log')})`) : rm(tmp, { recursive: true, force: true })));
  // As root the embedded cluster runs as an unprivileged user, which must reach the folder.
  await chmod(tmp, 0o755);
  const postgres = await SoakPostgres.start(path.join(tmp, 'data'), await freePort());
  cleanup.add(() => postgres.stop());
  say(`PostgreSQL (embedded, its own) at ${postgres.url.replace(/\/\/[^@]*@/, '//')}, data in ${tmp}`);
  const sink = await startWebhookSink();
  cleanup.add(() => sink.close());

  const env = { ...SERVICE_ENV, DATABASE_URL: postgres.url, EXPORT_DIR: path.join(tmp, 'exports'), JWT_SECRET: randomBytes(24).toString('hex') };
  const customer = await createLocalCustomer(
    { name: 'Soak', email: `soak-${Date.now()}@soak.trip-export.test`, password: randomBytes(12).toString('base64url') },
    { startEmbedded: false, env },
  );
  const crashes: Crash[] = [];
  const onCrash = (crash: Crash): void => {
    crashes.push(crash);
    say(`CRASH: instance ${crash.instance} exited (${crash.exit}): ${crash.reason}; restarting it`);
  };
  const instances = await Promise.all(
    ['A', 'B'].map(async (name) => new ServiceInstance(name, `http://127.0.0.1:${await freePort()}`, env, path.join(tmp, `instance-${name}.log`), started, onCrash)),
  );
  // Together: each stop() marks its instance closing at once, so an exit from a Ctrl-C that
  // reached the whole process group is not taken for a crash.
  cleanup.add(() => Promise.all(instances.map((instance) => instance.stop())));
  await Promise.all(instances.map((instance) => instance.start(1)));
  say(`instances ${instances.map((i) => `${i.name} at ${i.url}`).join(', ')}`);

  const retry = { baseDelayMs: 250, maxDelayMs: 5_000, giveUpAfterMs: o['give-up'] * 1000 };
  const api = new SoakApi(
    instances.map((i) => i.url),
    customer.api_token,
    retry,
  );
  sink.secret = await api.createWebhookTrigger(sink.url);
  const devices = await api.createDevices(o.devices);
  const seed = o.seed || randomInt(1, 2 ** 31);
  const plan = { kinds, everySeconds: o['fault-every'], postgresDownSeconds: o['pg-down'], webhookFailSeconds: o['webhook-fail'], webhookHangSeconds: o['webhook-hang'] };
  say(`${devices.length} devices uploading fast-forward to both instances (seed ${seed}); faults: ${kinds.join(', ') || 'none'}, one every ${plan.everySeconds} s`);

  const load = new AbortController();
  const acked = new AckedRecords();
  const uploadFailures = new Map<string, number>();
  let latest: SimulationStats | undefined;
  const loadStarted = Date.now();
  const simulation = simulateFleet(
    {
      baseUrls: instances.map((i) => i.url),
      devices,
      recordsPerSecond: o.hz,
      minutes: FLEET_MINUTES,
      realtime: false,
      // In order: a batch held back past its trip's export would be missing from the file by design.
      lateFraction: 0,
      intervalSeconds: o.interval,
      maxBatch: 1000,
      parallel: o.parallel,
      seed,
      retry,
      signal: load.signal,
      onRetry: (_device, error) => uploadFailures.set(failureKind(error), (uploadFailures.get(failureKind(error)) ?? 0) + 1),
      onGiveUp: (device, error) => say(`${device.name} gave a batch up: ${reason(error)}`),
      onUploaded: (device, records) => acked.add(device.id, records),
    },
    (stats) => (latest = stats),
  );
  const faults = injectFaults(plan, { postgres, instances, sink }, load.signal, say);
  const status = setInterval(() => {
    say(`${n(latest?.records ?? 0)} records acknowledged, ${n(latest?.tripsEnded ?? 0)} trips ended, ${n(sink.announced.size)} exports announced, ${crashes.length} crashes`);
  }, STATUS_EVERY_MS);
  const stopLoad = setTimeout(() => {
    say('time is up: each device finishes the trip it is driving, then stops');
    load.abort();
  }, o.minutes * 60_000);
  cleanup.add(async () => {
    clearInterval(status);
    clearTimeout(stopLoad);
    load.abort();
  });
  const [sim, faultCounts] = await Promise.all([simulation, faults]);
  clearInterval(status);
  const loadSeconds = (Date.now() - loadStarted) / 1000;

  say(`load done (${n(sim.records)} records acknowledged); waiting up to ${o.drain} s for exports and announcements`);
  const drainStarted = Date.now();
  let isSettled = false;
  while (!(isSettled = settled(await api.trips(), sink)) && Date.now() - drainStarted < o.drain * 1000) await sleep(DRAIN_POLL_MS);
  const drainSeconds = (Date.now() - drainStarted) / 1000;
  say(isSettled ? `settled after ${Math.round(drainSeconds)} s; checking every export file` : `not settled after ${o.drain} s; checking what there is`);

  const verification = await verify(api, acked, sink);
  if (crashes.length) verification.problems.push(`${crashes.length} instance crashes (see above): an outside failure ended the process`);
  const answered500 = uploadFailures.get('500') ?? 0;
  if (answered500) verification.problems.push(`${answered500} upload attempts answered 500 (a database outage should answer 503 with Retry-After)`);
  const outcome = {
    minutes: o.minutes,
    devices: devices.length,
    loadSeconds,
    drainSeconds,
    settled: isSettled,
    sim,
    uploadFailures,
    faults: faultCounts,
    crashes,
    restarts: instances.reduce((sum, i) => sum + i.restarts, 0),
    failedStarts: instances.reduce((sum, i) => sum + i.failedStarts, 0),
    webhooks: sink.counts,
    verification,
  };
  console.log(`\n${soakTable(outcome)}`);
  if (o.json) console.log(JSON.stringify({ ...outcome, uploadFailures: Object.fromEntries(uploadFailures) }));
  return verification.problems.length ? 1 : 0;
}

async function main(): Promise<number> {
  const o = parseOptions(OPTIONS, process.argv.slice(2), process.env);
  if (o.help) {
    console.log(usage('npm run soak --', OPTIONS));
    return 0;
  }
  let kinds: FaultKind[];
  try {
    kinds = parseFaultKinds(o.faults);
  } catch (error) {
    throw new UsageError(reason(error));
  }
  const cleanup = new Cleanup();
  const interrupted = (signal: string) => () => {
    console.log(`\n${signal}: stopping everything the soak started…`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted('SIGINT'));
  process.once('SIGTERM', interrupted('SIGTERM'));
  try {
    return await soak(o, kinds, cleanup);
  } finally {
    await cleanup.run();
  }
}

runCommand('soak', main, [ApiError]);
