/**
 * Where the CPU went during a scenario (Linux /proc): the machine as a whole, and the time of
 * each process group the benchmark cares about. A target missed on a machine whose cores were
 * busy throughout is bound by CPU; these figures say whose.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuSnapshot {
  /** Milliseconds of all cores not idle, and in all, since boot. */
  readonly busyMs: number;
  readonly totalMs: number;
  /** CPU milliseconds (user + system) by group. */
  readonly groups: Readonly<Record<string, number>>;
}

/** Clock ticks are 100 per second on Linux. */
const TICK_MS = 10;

function processCpuMs(pid: string): { comm: string; ms: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
  } catch {
    return undefined; // the process ended in between
  }
}

/**
 * Reads the counters now. `groups` names processes by pid; every `postgres` process counts as
 * "PostgreSQL" (backends come and go with connections, so compare snapshots of one scenario).
 */
export function cpuSnapshot(groups: Readonly<Record<string, number>>): CpuSnapshot {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = ticks;
  const busy = user + nice + system + irq + softirq + steal;
  const byGroup: Record<string, number> = { PostgreSQL: 0 };
  const names = new Map(Object.entries(groups).map(([name, pid]) => [String(pid), name]));
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const name = names.get(pid);
    const cpu = processCpuMs(pid);
    if (!cpu) continue;
    if (name) byGroup[name] = cpu.ms;
    else if (cpu.comm === 'postgres') byGroup.PostgreSQL! += cpu.ms;
  }
  return { busyMs: busy * TICK_MS, totalMs: (busy + idle + iowait) * TICK_MS, groups: byGroup };
}

export interface CpuUse {
  /** Share of all cores' time that was busy, 0 to 1. */
  readonly busy: number;
  /** CPU milliseconds by group between the snapshots. */
  readonly groups: Readonly<Record<string, number>>;
}

export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const groups: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after.groups)) groups[name] = ms - (before.groups[name] ?? 0);
  return { busy: (after.busyMs - before.busyMs) / Math.max(1, after.totalMs - before.totalMs), groups };
}
