/**
 * `npm run bench [-- --quick] [-- --records N] [-- --runs R]`: benchmarks, not tests. Each
 * scenario runs after a warm-up, several times, against a baseline measured in the same run;
 * the table goes to stdout and to bench/results.md.
 */
import 'reflect-metadata';

import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';

import { PROJECT_ROOT, startServiceProcess } from '../test/support/process.js';
import { type BenchContext, createBenchContext } from './context.js';
import type { CpuUse } from './cpu.js';
import { describeMachine, fmt, repeat, stats, table } from './harness.js';
import { percentile } from './harness.js';
import { announceRound, connectSubscribers, webhookThroughput } from './scenarios/announce.js';
import { apiScenario, seedExportedTrips } from './scenarios/api.js';
import { deflateAlone, type DeflateBound, type ExportRuns, runPsqlBaseline, runServiceExports, storeTrip } from './scenarios/export.js';
import { segmentsReport, segmentsScenario } from './scenarios/segments.js';
import { prepareUpload, runCopyBaseline, runUpload, type ServiceUploadResult, setEventTriggers, withBatteryTags } from './scenarios/upload.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    records: { type: 'string' },
    runs: { type: 'string' },
    out: { type: 'string' },
    // Only the upload scenario with and without EVENT triggers (a quick check of their cost).
    'event-triggers-only': { type: 'boolean', default: false },
    // Only the API read scenario (a quick check of the read paths).
    'api-only': { type: 'boolean', default: false },
    // Only the record segments scenario (storage, exports before and after compaction).
    'segments-only': { type: 'boolean', default: false },
  },
});
const quick = values.quick ?? false;
const records = Number(values.records ?? (quick ? 100_000 : 1_000_000));
const runs = Number(values.runs ?? (quick ? 3 : 5));
const clients = 4;
const cores = os.cpus().length;
const gzipLevel = 6;
const exportDir = `${PROJECT_ROOT}bench/out`;

const log = (message: string): void => console.error(`[bench] ${message}`);

/** Where an export's time goes, from the CPU counters of the measured runs and deflate alone. */
function exportBound(big: ExportRuns, deflates: readonly DeflateBound[]): string {
  const median = (pick: (cpu: CpuUse) => number): number => stats(big.cpu.map(pick)).median;
  const service = median((c) => c.groups.export ?? 0);
  const postgres = median((c) => c.groups.PostgreSQL ?? 0);
  const one = stats(deflates.map((d) => d.oneCoreSeconds * 1000)).median;
  const two = stats(deflates.map((d) => d.twoCoresSeconds * 1000)).median;
  return (
    `CPU per export (medians): the export process ${fmt.s(service)} (deflate on the thread pool, COPY decoding, CRC-32, writing), ` +
    `PostgreSQL ${fmt.s(postgres)}; the ${cores} cores were ${Math.round(median((c) => c.busy) * 100)}% busy. ` +
    `Deflate alone at level ${gzipLevel} of the same ${fmt.mb(deflates[0]!.bytes)}, in memory: ${fmt.s(one)} on one core, ` +
    `${fmt.s(two)} split over two cores at once (${fmt.ratio(one / two)} as fast, not 2×). ` +
    `No export here can take less than that; the median export took ${fmt.ratio((stats(big.seconds).median * 1000) / two)} as long.`
  );
}

/** CPU per 1,000-record batch by process, and the rate that CPU allows on this machine's cores. */
function uploadBound(uploads: readonly ServiceUploadResult[]): string {
  const perBatch = (name: string): number => stats(uploads.map((u) => ((u.cpu.groups[name] ?? 0) / u.records) * 1000)).median;
  const [service, postgres, clientsMs] = [perBatch('service'), perBatch('PostgreSQL'), perBatch('clients')];
  const allowed = (cores * 1000 * 1000) / (service + postgres + clientsMs);
  return (
    `CPU per 1,000-record batch (medians): the service ${fmt.ms(service)}, PostgreSQL ${fmt.ms(postgres)}, the benchmark's HTTP clients ${fmt.ms(clientsMs)}; ` +
    `the ${cores} cores were ${Math.round(stats(uploads.map((u) => u.cpu.busy)).median * 100)}% busy. ` +
    `That CPU allows at most ${fmt.rate(allowed)} on ${cores} cores.`
  );
}

/**
 * Uploads of the same data (1% of records tagged as battery warnings, plus the engine tags)
 * with and without matching EVENT triggers, runs interleaved so the machine's drift hits both.
 */
async function eventTriggerCostIn(ctx: BenchContext, service: { baseUrl: string; child: { pid?: number } }): Promise<string> {
  log(`event triggers: ${records.toLocaleString()} records, ${runs} runs each without and with EVENT triggers, interleaved`);
  const plan = withBatteryTags(prepareUpload(records, clients));
  const target = { baseUrl: service.baseUrl, pid: service.child.pid! };
  const pairs = await repeat(runs, 1, async () => {
    await setEventTriggers(ctx, false);
    const without = await runUpload(ctx, target, plan);
    await setEventTriggers(ctx, true);
    const withTriggers = await runUpload(ctx, target, plan);
    return { without: without.records / without.seconds, with: withTriggers.records / withTriggers.seconds };
  });
  await setEventTriggers(ctx, false);
  const { rows } = await ctx.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM signals WHERE name = 'device_event'`);
  const without = stats(pairs.map((p) => p.without));
  const withTriggers = stats(pairs.map((p) => p.with));
  const ratio = stats(pairs.map((p) => p.without / p.with));
  const line = `with ÷ without EVENT triggers: ${fmt.ratio(ratio.median)} as long (pairs: min ${fmt.ratio(ratio.min)}, max ${fmt.ratio(ratio.max)})`;
  log(line);
  return (
    `### Upload with EVENT triggers (${records.toLocaleString()} records, 1% tagged as battery warnings, ${clients} devices, batches of 1,000)\n\n` +
    table(
      ['path', 'median', 'min', 'max'],
      [
        ['POST /logbook/storage/, no EVENT trigger', fmt.rate(without.median), fmt.rate(without.min), fmt.rate(without.max)],
        ['the same, 5 EVENT triggers (2 matching)', fmt.rate(withTriggers.median), fmt.rate(withTriggers.min), fmt.rate(withTriggers.max)],
      ],
    ) +
    `\n\n${line}; ${Number(rows[0]?.n ?? 0).toLocaleString('en-US')} device_event signals written in all.`
  );
}

/**
 * The read paths under load: 10 devices with 200 exported trips for the measured customer, a
 * second customer with 1,000 tasks for the full `GET /tasks/` listing.
 */
async function apiReads(ctx: BenchContext, baseUrl: string): Promise<string> {
  const data = await seedExportedTrips(ctx, ctx.principal.customerId, 10, 200);
  const big = await ctx.newCustomer('Bench, many tasks');
  await seedExportedTrips(ctx, big.principal.customerId, 5, 1000);
  return apiScenario({
    baseUrl,
    apiToken: ctx.apiToken,
    bigToken: big.apiToken,
    bigTasks: 1000,
    deviceId: data.deviceIds[0]!,
    seconds: quick ? 2 : 4,
    rounds: quick ? 1 : 3,
    connections: 16,
    log,
  });
}

/** The service as every scenario after the export one runs it. */
function startBenchService(ctx: BenchContext, env: Record<string, string> = {}) {
  return startServiceProcess({
    DATABASE_URL: ctx.url,
    LOG_LEVEL: 'warn',
    EXPORT_MIN_DELAY_SECONDS: '600',
    EXPORT_DIR: exportDir,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    JOB_POLL_MS: '200',
    DELIVERY_CONCURRENCY: '16',
    // One API token at full speed is what the API scenario measures, not what the limit is for.
    TOKEN_LIMIT_PER_MINUTE: '10000000',
    ...env,
  });
}

async function main(): Promise<void> {
  const ctx = await createBenchContext();
  if (values['api-only']) {
    const service = await startBenchService(ctx, { COMPACT_ENABLED: 'false' });
    try {
      console.log(await apiReads(ctx, service.baseUrl));
    } finally {
      await service.stop();
      await ctx.close();
    }
    return;
  }
  if (values['event-triggers-only']) {
    const service = await startServiceProcess({ DATABASE_URL: ctx.url, LOG_LEVEL: 'warn', EXPORT_MIN_DELAY_SECONDS: '600', EXPORT_DIR: exportDir, JOB_POLL_MS: '200' });
    try {
      console.log(await eventTriggerCostIn(ctx, service));
    } finally {
      await service.stop();
      await ctx.close();
    }
    return;
  }
  if (values['segments-only']) {
    log(`segments: a noisy trip of ${records.toLocaleString()} records, before and after compaction`);
    const figures = await segmentsScenario(ctx, records, exportDir, gzipLevel, runs);
    const service = await startServiceProcess({ DATABASE_URL: ctx.url, LOG_LEVEL: 'warn', EXPORT_MIN_DELAY_SECONDS: '600', EXPORT_DIR: exportDir, JOB_POLL_MS: '200' });
    try {
      // The upload rate compaction has to keep up with, measured here.
      const uploads = await repeat(Math.min(runs, 3), 1, () =>
        runUpload(ctx, { baseUrl: service.baseUrl, pid: service.child.pid! }, prepareUpload(Math.min(records, 200_000), clients)),
      );
      console.log(segmentsReport(figures, stats(uploads.map((u) => u.records / u.seconds)).median));
    } finally {
      await service.stop();
      await ctx.close();
    }
    return;
  }
  const eventTriggerCost = (service: { baseUrl: string; child: { pid?: number } }) => eventTriggerCostIn(ctx, service);
  const sections: string[] = [];
  log(`export: a stored trip of ${records.toLocaleString()} records, gzip level ${gzipLevel}, ${runs} runs after a warm-up`);
  const small = Math.round(records / 10);
  const trip = await storeTrip(ctx, '2026-10-05T06:00:00.000000Z', records);
  const smallTrip = await storeTrip(ctx, '2026-10-07T06:00:00.000000Z', small);
  const big = await runServiceExports(ctx, trip, exportDir, gzipLevel, runs);
  const baselines = await repeat(runs, 1, () => runPsqlBaseline(ctx, trip, exportDir, gzipLevel));
  const deflates = await repeat(runs, 0, () => deflateAlone(trip, exportDir, gzipLevel));
  const smallRuns = await runServiceExports(ctx, smallTrip, exportDir, gzipLevel, runs);
  log(`segments: a noisy trip of ${records.toLocaleString()} records, before and after compaction`);
  const segmentFigures = await segmentsScenario(ctx, records, exportDir, gzipLevel, runs);
  const ex = stats(big.seconds.map((s) => s * 1000));
  const base = stats(baselines.map((r) => r.seconds * 1000));
  const firstMs = big.firstSeconds * 1000;
  sections.push(
    `### Export (one trip of ${records.toLocaleString()} records, gzip level ${gzipLevel})\n\n` +
      table(
        ['path', 'median', 'min', 'max', 'records/s', 'output', 'service ÷ baseline'],
        [
          [
            'service export (claim → COPY → gzip → fsync → rename → SUCCESS)',
            fmt.s(ex.median),
            fmt.s(ex.min),
            fmt.s(ex.max),
            fmt.rate(records / (ex.median / 1000)),
            fmt.mb(big.bytes),
            fmt.ratio(ex.median / base.median),
          ],
          [
            'the same, first export of a new worker process (new database connection)',
            fmt.s(firstMs),
            '',
            '',
            fmt.rate(records / big.firstSeconds),
            fmt.mb(big.bytes),
            fmt.ratio(firstMs / base.median),
          ],
          [
            `psql COPY \\| gzip -${gzipLevel} > file (baseline)`,
            fmt.s(base.median),
            fmt.s(base.min),
            fmt.s(base.max),
            fmt.rate(records / (base.median / 1000)),
            fmt.mb(baselines[0]!.bytes),
            '',
          ],
        ],
      ) +
      `\n\nThe service's runs are exports in one worker process after its first; psql starts a new connection each run. ` +
      `Peak RSS of the export process: ${fmt.mb(smallRuns.maxRssBytes)} at ${small.toLocaleString()} records, ${fmt.mb(big.maxRssBytes)} at ${records.toLocaleString()} records.\n\n` +
      exportBound(big, deflates),
  );

  const service = await startBenchService(ctx);
  try {
    const subscriberCount = quick ? 200 : 1000;
    log(`announce: ${subscriberCount} graphql-ws subscribers, a real export per round`);
    const announceTrip = await storeTrip(ctx, '2026-10-09T06:00:00.000000Z', 1000);
    const subscribers = await connectSubscribers(service.baseUrl, ctx.apiToken, subscriberCount);
    // A fresh service delivers its first events with code V8 has not optimised yet (measured:
    // p99 287, 225, 285, 148, 131, 124 ms over six rounds); a running service is past that.
    const rounds = await repeat(runs, 3, () => announceRound(ctx, service.baseUrl, announceTrip, subscribers));
    await subscribers.close();
    const p50 = stats(rounds.map((r) => percentile(r, 50)));
    const p99 = stats(rounds.map((r) => percentile(r, 99)));
    const last = stats(rounds.map((r) => Math.max(...r)));
    const hooks = quick ? 200 : 1000;
    const throughput = await webhookThroughput(ctx, service.baseUrl, announceTrip, hooks);
    sections.push(
      `### Announcements (${subscriberCount} graphql-ws subscribers; time from the task's SUCCESS to receipt)\n\n` +
        table(
          ['measure', 'median', 'min', 'max'],
          [
            ['p50 over subscribers', fmt.ms(p50.median), fmt.ms(p50.min), fmt.ms(p50.max)],
            ['p99 over subscribers', fmt.ms(p99.median), fmt.ms(p99.min), fmt.ms(p99.max)],
            [`last (${subscriberCount}th) subscriber`, fmt.ms(last.median), fmt.ms(last.min), fmt.ms(last.max)],
          ],
        ) +
        `\n\nWebhook deliveries to a local receiver: ${fmt.rate(throughput)} (${hooks} signals written at once, signed, sent and recorded).`,
    );

    log(`upload: ${records.toLocaleString()} records in batches of 1,000 from ${clients} devices, ${runs} runs after a warm-up`);
    const plan = prepareUpload(records, clients);
    const uploads = await repeat(runs, 1, () => runUpload(ctx, { baseUrl: service.baseUrl, pid: service.child.pid! }, plan));
    const copies = await repeat(runs, 1, () => runCopyBaseline(ctx, records, clients));
    const up = stats(uploads.map((r) => r.records / r.seconds));
    const copy = stats(copies.map((r) => r.records / r.seconds));
    sections.push(
      `### Upload (${records.toLocaleString()} records, ${clients} concurrent devices, batches of 1,000)\n\n` +
        table(
          ['path', 'median', 'min', 'max', 'baseline ÷ service'],
          [
            ['POST /logbook/storage/ (with trip detection)', fmt.rate(up.median), fmt.rate(up.min), fmt.rate(up.max), fmt.ratio(copy.median / up.median)],
            ['bare COPY of the same rows (baseline)', fmt.rate(copy.median), fmt.rate(copy.min), fmt.rate(copy.max), ''],
          ],
        ) +
        `\n\n${uploadBound(uploads)}`,
    );
    sections.push(segmentsReport(segmentFigures, up.median));

    sections.push(await eventTriggerCost(service));
  } finally {
    await service.stop();
  }
  // Reads alone, on a service of their own: the one above would still be compacting the
  // millions of records the upload scenarios left, on the same two cores.
  const reader = await startBenchService(ctx, { COMPACT_ENABLED: 'false' });
  try {
    sections.push(await apiReads(ctx, reader.baseUrl));
  } finally {
    await reader.stop();
    await ctx.close();
  }

  const report = [
    `## ${new Date().toISOString().slice(0, 10)} — ${quick ? 'quick' : 'full'} run`,
    '',
    `Machine: ${describeMachine(ctx.pgVersion)}. Medians of ${runs} runs after a warm-up (one run; three rounds for announcements), min and max beside.`,
    '',
    ...sections.flatMap((s) => [s, '']),
  ].join('\n');
  console.log(report);
  const out = values.out ?? `${PROJECT_ROOT}bench/results${quick ? '-quick' : ''}.md`;
  await writeFile(out, `# Benchmark results\n\nWritten by \`npm run bench${quick ? ' -- --quick' : ''}\`.\n\n${report}`);
  log(`written ${out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
