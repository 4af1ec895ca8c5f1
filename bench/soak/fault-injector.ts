/**
 * The soak's faults, one at a time on a fixed schedule, in turn: PostgreSQL restarted, an
 * instance killed with SIGKILL (and started again), the webhook receiver failing (503), the
 * receiver hanging (never answering).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { ServiceInstance } from './service-instance.js';
import type { SoakPostgres } from './soak-postgres.js';
import type { WebhookSink } from './webhook-sink.js';

export const FAULT_KINDS = ['postgres', 'kill', 'webhook-fail', 'webhook-hang'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultPlan {
  readonly kinds: readonly FaultKind[];
  /** Seconds of calm before each fault (after the previous one ended). */
  readonly everySeconds: number;
  readonly postgresDownSeconds: number;
  readonly webhookFailSeconds: number;
  readonly webhookHangSeconds: number;
}

export interface FaultTargets {
  readonly postgres: SoakPostgres;
  readonly instances: readonly ServiceInstance[];
  readonly sink: WebhookSink;
}

export type FaultCounts = Record<FaultKind, number>;

/** Parses `postgres,kill,...` or `none`; throws naming the unknown ones. */
export function parseFaultKinds(list: string): FaultKind[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 1 && names[0] === 'none') return [];
  const unknown = names.filter((n) => !(FAULT_KINDS as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`unknown fault ${unknown.join(', ')}: choose from ${FAULT_KINDS.join(', ')} or none`);
  return names as FaultKind[];
}

/** Sleeps `ms`, or less when `signal` aborts; never throws. */
const pause = (ms: number, signal: AbortSignal): Promise<void> => sleep(ms, undefined, { signal }).catch(() => undefined);

/**
 * Injects faults until `signal` aborts (a fault under way still ends: PostgreSQL comes back,
 * the receiver answers again). `say` is told what happens, as it happens.
 */
export async function injectFaults(plan: FaultPlan, targets: FaultTargets, signal: AbortSignal, say: (line: string) => void): Promise<FaultCounts> {
  const counts: FaultCounts = { postgres: 0, kill: 0, 'webhook-fail': 0, 'webhook-hang': 0 };
  let kills = 0;
  const run: Record<FaultKind, () => Promise<void>> = {
    postgres: async () => {
      say(`fault: PostgreSQL stopped for ${plan.postgresDownSeconds} s`);
      await targets.postgres.restart(plan.postgresDownSeconds * 1000);
      say('PostgreSQL is back');
    },
    kill: async () => {
      const instance = targets.instances[kills++ % targets.instances.length]!;
      say(`fault: instance ${instance.name} killed (SIGKILL)`);
      await instance.kill();
      say(`instance ${instance.name} answers again`);
    },
    'webhook-fail': () => receiverFault('fail', plan.webhookFailSeconds, 'answers 503'),
    'webhook-hang': () => receiverFault('hang', plan.webhookHangSeconds, 'never answers'),
  };
  const receiverFault = async (mode: 'fail' | 'hang', seconds: number, what: string): Promise<void> => {
    say(`fault: the webhook receiver ${what} for ${seconds} s`);
    targets.sink.mode = mode;
    await sleep(seconds * 1000);
    targets.sink.mode = 'ok';
    say('the webhook receiver answers 204 again');
  };

  for (let n = 0; plan.kinds.length > 0; n++) {
    await pause(plan.everySeconds * 1000, signal);
    if (signal.aborted) break;
    const kind = plan.kinds[n % plan.kinds.length]!;
    counts[kind] += 1;
    await run[kind]();
  }
  return counts;
}
