import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { SERVICE_NODE_OPTIONS } from '../node-options.js';
import { isServing } from '../sim/api-client.js';

/** A trip-export service that this process started and must stop. */
export interface LocalService {
  readonly child: ChildProcess;
  /** The last lines the service wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const KEEP_OUTPUT = 8_000;
const STOP_GRACE_MS = 15_000;

/**
 * Starts the built service (`dist/src/main.js`) listening at `baseUrl` with `env` on top of
 * this process's environment, and waits until it answers `/healthz`. The first start on a
 * fresh machine initialises the embedded PostgreSQL, which takes a few seconds.
 */
export async function startLocalService(baseUrl: string, env: Record<string, string>, timeoutMs = 90_000): Promise<LocalService> {
  const url = new URL(baseUrl);
  const child = spawn(process.execPath, [...SERVICE_NODE_OPTIONS, MAIN], {
    // Quiet unless the caller chose a log level: the demo's own output is what a user reads.
    env: { LOG_LEVEL: 'warn', ...process.env, ...env, HOST: url.hostname.replace(/^\[|\]$/g, ''), PORT: url.port || '80' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP_OUTPUT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit');
  const service: LocalService = {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await isServing(baseUrl))) {
    if (child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode} before answering:\n${output.trim()}`);
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`the service did not answer at ${baseUrl} within ${timeoutMs / 1000} s:\n${output.trim()}`);
    }
    await sleep(250);
  }
  return service;
}

/** Only a service on this machine can be started (or get a customer created in its database). */
export function isLoopback(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
