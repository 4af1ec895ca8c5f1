/**
 * Loaded into every test file's process by `test/run.ts` (`--import`): when the process
 * exits, it appends how long the file ran and the CPU it and its child processes (services,
 * CLI tools, PostgreSQL clusters it waited for) used, one JSON line to `TEST_TIMINGS_FILE`.
 * node's test runner reports the durations of tests, not of files, and cannot say whether a
 * slow file computes or waits, which is what deciding where the suite's time goes needs.
 */
import { appendFileSync, readFileSync } from 'node:fs';

export interface FileTiming {
  file: string;
  /** From process start to exit, including module loading and child process start-up. */
  wallMs: number;
  /** User and system CPU of the test process itself. */
  cpuMs: number;
  /** User and system CPU of the child processes it waited for. */
  childCpuMs: number;
}

/** Fields 14–17 of /proc/self/stat (utime, stime, cutime, cstime), in milliseconds. */
export function procCpuMs(): [own: number, children: number] | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    // Linux counts in clock ticks of 10 ms (USER_HZ = 100 on every architecture node runs on).
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map((n) => Number(n) * 10) as [number, number, number, number];
    return [utime + stime, cutime + cstime];
  } catch {
    return undefined;
  }
}

const target = process.env.TEST_TIMINGS_FILE;
const file = process.argv[1];
if (target && file?.endsWith('.test.js')) {
  process.on('exit', () => {
    const usage = process.cpuUsage();
    const [, childCpuMs] = procCpuMs() ?? [0, 0];
    const timing: FileTiming = { file, wallMs: Math.round(performance.now()), cpuMs: Math.round((usage.user + usage.system) / 1000), childCpuMs };
    appendFileSync(target, `${JSON.stringify(timing)}\n`);
  });
}
