/** The soak's closing table, in markdown so that it can go into bench/results.md as it is. */
import type { SimulationStats } from '../../src/sim/fleet-simulator.js';
import { table } from '../harness.js';
import type { FaultCounts } from './fault-injector.js';
import type { Crash } from './service-instance.js';
import type { Verification } from './soak-verify.js';
import type { SinkCounts } from './webhook-sink.js';

export interface SoakOutcome {
  readonly minutes: number;
  readonly devices: number;
  readonly loadSeconds: number;
  readonly drainSeconds: number;
  readonly settled: boolean;
  readonly sim: SimulationStats;
  /** Failed upload attempts by what came back: `503`, `500`, `no answer`... */
  readonly uploadFailures: ReadonlyMap<string, number>;
  readonly faults: FaultCounts;
  readonly crashes: readonly Crash[];
  readonly restarts: number;
  readonly failedStarts: number;
  readonly webhooks: Readonly<SinkCounts>;
  readonly verification: Verification;
}

const n = (value: number): string => Math.round(value).toLocaleString('en-US');
const clock = (ms: number): string => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

export function soakTable(o: SoakOutcome): string {
  const v = o.verification;
  const failures = [...o.uploadFailures].sort(([, a], [, b]) => b - a).map(([what, count]) => `${what} ×${n(count)}`);
  const rows: [string, string][] = [
    [
      'run',
      `${o.minutes} min of load and faults (${o.devices} devices, ${Math.round(o.loadSeconds)} s until every trip had ended), then ${Math.round(o.drainSeconds)} s to drain${o.settled ? '' : ' (timed out)'}`,
    ],
    [
      'records',
      `${n(o.sim.records + o.sim.failedRecords)} sent, ${n(o.sim.records)} acknowledged (${n(o.sim.failedRecords)} given up), ${n(v.exportedRecords)} in export files (${n(v.unackedExported)} of them never acknowledged)`,
    ],
    ['uploads', `${n(o.sim.batches)} batches acknowledged, ${n(o.sim.duplicates)} as duplicates; ${n(o.sim.retries)} retries`],
    ['failed upload attempts', failures.join(', ') || 'none'],
    ['trips', `${n(v.trips)}, ${n(v.endedTrips)} ended`],
    ['exports', `${n(v.exports)} SUCCESS, ${n(v.failedTasks)} FAILURE, ${n(v.stuckTasks)} stuck`],
    [
      'announcements',
      `${n(v.announced)} of ${n(v.exports)} exports announced; webhook requests: ${n(o.webhooks.requests)} (${n(o.webhooks.accepted)} accepted, ${n(o.webhooks.failed)} answered 503, ${n(o.webhooks.hung)} left hanging, ${n(o.webhooks.badSignatures)} bad signatures)`,
    ],
    [
      'faults injected',
      `PostgreSQL restarts ${o.faults.postgres}, SIGKILLs ${o.faults.kill}, receiver failing ${o.faults['webhook-fail']}, receiver hanging ${o.faults['webhook-hang']}`,
    ],
    ['instance crashes', `${o.crashes.length} (restarts ${o.restarts}, failed starts ${o.failedStarts})`],
    ['verdict', v.problems.length ? `FAIL (${v.problems.length} checks)` : 'PASS'],
  ];
  const crashes = o.crashes.map((c) => `- ${clock(c.at)} instance ${c.instance} exited (${c.exit}): ${c.reason}`);
  const problems = v.problems.map((p) => `- ${p}`);
  return [
    table(['soak', ''], rows),
    ...(crashes.length ? ['', 'Crashes (the supervisor restarted each):', ...crashes] : []),
    ...(problems.length ? ['', 'Failed checks:', ...problems] : []),
  ].join('\n');
}
