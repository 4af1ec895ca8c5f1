/**
 * `npm run bench [-- --quick] [-- --records N] [-- --runs R]`: benchmarks, not tests. Each
 * scenario runs after a warm-up, several times, against a baseline measured in the same run;
 * the table goes to stdout and to bench/results.md.
 */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, startServiceProcess } from '../test/support/process.js';
import { createBenchContext } from './context.js';
import { describeMachine, fmt, repeat, stats, table } from './harness.js';
import { loadTest } from './scenarios/api.js';
import { prepareUpload, runCopyBaseline, runUpload } from './scenarios/upload.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    records: { type: 'string' },
    runs: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = values.quick ?? false;
const records = Number(values.records ?? (quick ? 100_000 : 1_000_000));
const runs = Number(values.runs ?? (quick ? 3 : 5));
const clients = 4;

const log = (message: string): void => console.error(`[bench] ${message}`);

async function main(): Promise<void> {
  const ctx = await createBenchContext();
  const sections: string[] = [];
  const service = await startServiceProcess({ DATABASE_URL: ctx.url, LOG_LEVEL: 'warn', EXPORT_MIN_DELAY_SECONDS: '600' });
  try {
    log(`upload: ${records.toLocaleString()} records in batches of 1,000 from ${clients} devices, ${runs} runs after a warm-up`);
    const plan = prepareUpload(records, clients);
    const uploads = await repeat(runs, 1, () => runUpload(ctx, service.baseUrl, plan));
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
        ),
    );

    log('api: GET /logbook/trips/ and the GraphQL trips query under load');
    const seconds = quick ? 3 : 8;
    const auth = { authorization: `APIToken ${ctx.apiToken}` };
    const api = [
      await loadTest('GET /logbook/trips/?limit=20', `${service.baseUrl}/logbook/trips/?limit=20`, { headers: auth, seconds, connections: 16 }),
      await loadTest('GraphQL trips(first: 20)', `${service.baseUrl}/graphql`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ trips(first: 20) { totalCount edges { node { id startTimeUtc endTimeUtc distanceKm duration } } } }' }),
        seconds,
        connections: 16,
      }),
    ];
    sections.push(
      `### API (autocannon, 16 connections, ${seconds} s each)\n\n` +
        table(['request', 'requests/s', 'p99', 'errors'], api.map((a) => [a.name, Math.round(a.requestsPerSecond).toLocaleString('en-US'), fmt.ms(a.p99Ms), String(a.errors)])),
    );
  } finally {
    await service.stop();
    await ctx.close();
  }

  const report = [
    `## ${new Date().toISOString().slice(0, 10)} — ${quick ? 'quick' : 'full'} run`,
    '',
    `Machine: ${describeMachine(ctx.pgVersion)}. Medians of ${runs} runs after one warm-up (min and max beside).`,
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
