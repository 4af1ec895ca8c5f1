/**
 * npm run simulate -- --devices N --hz H --minutes M [--url URL] [--token APIToken] [--realtime] [--late-fraction F]
 * A fleet of simulated devices uploading to a service, for demos and load tests. It stops by
 * itself once every device has uploaded its M minutes of device time.
 */
import { randomBytes, randomInt } from 'node:crypto';

import { ApiClient, ApiError } from '../sim/api-client.js';
import { createDevice, type SimDevice } from '../sim/fleet-setup.js';
import { simulateFleet, type SimulationStats } from '../sim/fleet-simulator.js';
import { Limiter } from '../sim/limiter.js';
import { retrying, type RetryPolicy } from '../sim/retry.js';
import { parseOptions, runCommand, usage, UsageError } from './cli-options.js';
import { createLocalCustomer } from './local-customer.js';
import { isLoopback } from './local-service.js';
import { ProgressBar } from './progress-bar.js';

const OPTIONS = {
  devices: { kind: 'number', default: 3, min: 1, max: 10_000, integer: true, description: 'simulated devices' },
  hz: { kind: 'number', default: 10, min: 0.1, max: 1000, description: 'records per second each device logs while driving' },
  minutes: { kind: 'number', default: 10, min: 0.25, max: 7 * 24 * 60, description: 'device time each device covers (drives and parked gaps)' },
  url: { kind: 'string', env: 'SIMULATE_URL', default: 'http://127.0.0.1:4000', description: 'the service' },
  token: { kind: 'string', env: 'SIMULATE_TOKEN', description: 'API token of the customer that owns the devices (else one is created; local service only)' },
  realtime: { kind: 'flag', description: 'pace uploads to the wall clock instead of fast-forwarding' },
  'late-fraction': { kind: 'number', default: 0.05, min: 0, max: 1, description: 'share of batches sent after later ones' },
  interval: { kind: 'number', default: 5, min: 0.1, max: 3600, description: 'seconds of device time between uploads' },
  batch: { kind: 'number', default: 1000, min: 1, max: 100_000, integer: true, description: 'records per upload at most' },
  parallel: { kind: 'number', default: 8, min: 1, max: 1000, integer: true, description: 'uploads in flight at once' },
  'auto-export': { kind: 'flag', description: 'turn auto-export on for the devices' },
  seed: { kind: 'number', default: 0, min: 0, max: 2 ** 32 - 1, integer: true, description: 'random seed (0: a new one each run)' },
  'give-up': { kind: 'number', default: 120, min: 1, max: 86_400, description: 'seconds a request is retried before it is given up' },
  json: { kind: 'flag', description: 'print the final summary as one JSON line' },
} as const;

const n = (value: number): string => Math.round(value).toLocaleString('en-US');
const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function customerToken(url: string, token: string | undefined): Promise<string> {
  if (token) return token;
  if (!isLoopback(url)) throw new UsageError(`the service at ${url} is not on this machine: pass --token`);
  const email = `simulator-${Date.now()}-${randomBytes(3).toString('hex')}@sim.trip-export.test`;
  const created = await createLocalCustomer({ name: 'Simulated fleet', email, password: randomBytes(12).toString('base64url') }, { startEmbedded: false });
  console.log(`Created customer ${email} (API token ${created.api_token}).`);
  return created.api_token;
}

/** Creates the fleet through GraphQL; an unreachable or failing service is retried, so the simulator may start first. */
async function createFleet(client: ApiClient, count: number, autoExport: boolean, policy: RetryPolicy): Promise<{ devices: SimDevice[]; retries: number }> {
  let retries = 0;
  let told = false;
  const limiter = new Limiter(8);
  const devices = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      limiter.run(() =>
        retrying(() => createDevice(client, `sim ${i + 1}`, randomInt(1, 2 ** 31), autoExport ? { autoExport: true } : {}), policy, {
          retryable: (error) => error instanceof ApiError && error.transient,
          onRetry: (error, _attempt, delay) => {
            retries += 1;
            if (told) return;
            told = true;
            console.log(`retrying: ${reason(error)} (next attempt in ${(delay / 1000).toFixed(1)} s)`);
          },
        }),
      ),
    ),
  );
  return { devices, retries };
}

function summary(stats: SimulationStats, devices: number, hz: number, minutes: number, setupRetries: number): string {
  const seconds = stats.elapsedMs / 1000;
  return [
    '',
    `Simulated ${devices} devices, ${minutes} minutes of device time each, ~${hz} records/s while driving`,
    `  records   ${n(stats.records)} sent in ${n(stats.batches)} batches (${n(stats.duplicates)} answered as duplicates)`,
    `  retries   ${n(stats.retries)} upload retries, ${n(setupRetries)} setup retries; ${n(stats.failedBatches)} batches (${n(stats.failedRecords)} records) given up`,
    `  late      ${n(stats.lateBatches)} batches sent after later ones`,
    `  trips     ${n(stats.tripsStarted)} started, ${n(stats.tripsEnded)} ended`,
    `  time      ${seconds.toFixed(1)} s, ${n(stats.records / Math.max(seconds, 0.001))} records/s`,
  ].join('\n');
}

async function main(): Promise<number> {
  const o = parseOptions(OPTIONS, process.argv.slice(2), process.env);
  if (o.help) {
    console.log(usage('npm run simulate --', OPTIONS));
    return 0;
  }
  const url = o.url.replace(/\/+$/, '');
  const retry: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 10_000, giveUpAfterMs: o['give-up'] * 1000 };
  const client = new ApiClient(url, await customerToken(url, o.token));
  const fleet = await createFleet(client, o.devices, o['auto-export'], retry);
  // Printed so that a run can be replayed with --seed.
  const seed = o.seed || randomInt(1, 2 ** 31);
  console.log(`${fleet.devices.length} devices ready; uploading ${o.realtime ? 'in real time' : 'fast-forward'} to ${url} (seed ${seed})`);

  const bar = new ProgressBar('simulating');
  let toldRetry = false;
  const stats = await simulateFleet(
    {
      baseUrls: [url],
      devices: fleet.devices,
      recordsPerSecond: o.hz,
      minutes: o.minutes,
      realtime: o.realtime,
      lateFraction: o['late-fraction'],
      intervalSeconds: o.interval,
      maxBatch: o.batch,
      parallel: o.parallel,
      seed,
      retry,
      onRetry: (device, error) => {
        if (toldRetry) return;
        toldRetry = true;
        console.log(`\nretrying upload of ${device.name}: ${reason(error)} (further retries are counted, not printed)`);
      },
      onGiveUp: (device, error) => console.error(`\n${device.name} gave up a batch: ${reason(error)}`),
    },
    (s) => bar.update(s.progress, `${n(s.records)} records, ${n(s.batches)} batches, ${n(s.retries)} retries`),
  );
  bar.finish(`${n(stats.records)} records, ${n(stats.batches)} batches, ${n(stats.retries)} retries`);
  console.log(summary(stats, fleet.devices.length, o.hz, o.minutes, fleet.retries));
  if (o.json) console.log(JSON.stringify({ ...stats, setupRetries: fleet.retries, devices: fleet.devices.map((d) => d.id) }));
  return stats.failedBatches > 0 ? 1 : 0;
}

runCommand('simulate', main, [ApiError]);
