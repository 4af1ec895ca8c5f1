import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

import { SERVICE_NODE_OPTIONS } from '../../src/node-options.js';

export const DIST_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  output(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The built service (`main`, by default `dist/src/main.js`) as a child process on a free port; `env` undefined values unset. */
async function spawnService(env: Record<string, string | undefined>, args: string[], main = `${DIST_ROOT}src/main.js`, cwd?: string) {
  const port = env.PORT ?? String(await freePort());
  const childEnv: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'info', ...env, PORT: port, HOST: '127.0.0.1' };
  for (const [key, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[key];
  const child = spawn(process.execPath, [...SERVICE_NODE_OPTIONS, main, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], cwd });
  const out = { stdout: '', stderr: '', all: '' };
  child.stdout?.on('data', (d: Buffer) => ((out.stdout += d.toString()), (out.all += d.toString())));
  child.stderr?.on('data', (d: Buffer) => ((out.stderr += d.toString()), (out.all += d.toString())));
  return { child, port, out };
}

/** Runs the built service until it exits by itself (a start-up that must fail), at most `timeoutMs`. */
export async function runServiceToExit(
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
  where: { main?: string; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const { child, out } = await spawnService(env, [], where.main, where.cwd);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout: out.stdout, stderr: out.stderr, ms: Date.now() - started };
}

/** Runs the built service (`dist/src/main.js`, or `where.main` from `where.cwd`) as a real child process and waits until it answers. */
export async function startServiceProcess(
  env: Record<string, string | undefined>,
  args: string[] = [],
  timeoutMs = 60_000,
  where: { main?: string; cwd?: string } = {},
): Promise<ServiceProcess> {
  const { child, port, out } = await spawnService(env, args, where.main, where.cwd);
  const output = () => out.all;
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service did not answer within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    baseUrl,
    output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
