import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { DIST_ROOT } from './process.js';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  /** Everything written so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects when the tool exits first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<CliResult>;
  kill(): void;
}

/**
 * Runs a built command-line tool (`dist/src/cli/<name>.js`) as a user would, with `env` on
 * top of this process's environment (`undefined` removes a variable). Killed after `timeoutMs`.
 */
export function startCli(name: string, args: string[], env: Record<string, string | undefined>, timeoutMs = 180_000): CliRun {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [key, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[key];
  const child = spawn(process.execPath, [`${DIST_ROOT}src/cli/${name}.js`, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let all = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    all += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    all += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = once(child, 'exit').then(([code]) => {
    clearTimeout(timer);
    return { code: code as number | null, stdout, stderr };
  });
  return {
    output: () => all,
    exited,
    kill: () => child.kill('SIGTERM'),
    async waitFor(pattern, waitMs = 60_000) {
      const deadline = Date.now() + waitMs;
      while (!pattern.test(all)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before printing ${pattern}:\n${all}`);
        if (Date.now() > deadline) throw new Error(`${name} did not print ${pattern} within ${waitMs} ms:\n${all}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
