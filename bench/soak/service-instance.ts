/**
 * One instance of the service under soak, as a supervisor (systemd's `Restart=always`) runs
 * it: a child process of the built `dist/src/main.js`; when it exits without being asked to,
 * the exit is recorded as a crash with the error it printed, and it is started again.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { type LocalService, startLocalService } from '../../src/cli/local-service.js';

export interface Crash {
  readonly instance: string;
  /** Milliseconds since the soak started. */
  readonly at: number;
  /** `code 1` or `SIGABRT`. */
  readonly exit: string;
  /** The error line the process printed last, else its last line. */
  readonly reason: string;
}

const RESTART_PAUSE_MS = 1_000;
const START_TIMEOUT_MS = 60_000;

/** A pino error line as `msg: err.message`: the process died without printing the error itself. */
function logged(line: string | undefined): string | undefined {
  if (line === undefined) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
    return `last error logged: ${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`;
  } catch {
    return line;
  }
}

/**
 * The line that names the error in what a dying process printed (a Node stack trace or a JSON
 * log line), and for an unhandled 'error' event where it was emitted: that says whose handler
 * is missing.
 */
export function crashReason(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /^(\w*Error|error)\b.*:/.test(l) || /"level":(50|60)/.test(l));
  const stack = errors.filter((l) => !l.startsWith('{'));
  const line = stack.at(-1) ?? logged(errors.at(-1)) ?? lines.at(-1) ?? '(no output)';
  const emitted = lines.findIndex((l) => l.startsWith("Emitted 'error' event"));
  const where = emitted >= 0 ? ` (${lines[emitted]!.replace(/ at:$/, '')} ${lines[emitted + 1]?.replace(/\(\S*node_modules\//, '(') ?? ''})` : '';
  const reason = `${line}${where}`;
  return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
}

export class ServiceInstance {
  private service: LocalService | undefined;
  private expectingExit = false;
  private starting: Promise<void> | undefined;
  private closing = false;
  private readonly log: WriteStream;
  /** Starts that failed (the process exited or never answered), e.g. while PostgreSQL was down. */
  failedStarts = 0;
  restarts = 0;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly env: Record<string, string>,
    logFile: string,
    private readonly startedAt: number,
    private readonly onCrash: (crash: Crash) => void,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  /**
   * Starts the process and waits until it answers; a failed start (PostgreSQL down, say) is
   * tried again, up to `attempts` times (the first start of the soak: once), then thrown.
   */
  start(attempts = Infinity): Promise<void> {
    this.starting = this.startLoop(attempts);
    return this.starting;
  }

  private async startLoop(attempts: number): Promise<void> {
    for (let attempt = 1; !this.closing; attempt++) {
      try {
        const service = await startLocalService(this.url, this.env, START_TIMEOUT_MS);
        this.watch(service);
        // stop() came while this start was under way: it waits for this one to end.
        if (this.closing) await service.stop();
        return;
      } catch (error) {
        this.failedStarts += 1;
        this.log.write(`[soak] start failed: ${(error as Error).message}\n`);
        if (attempt >= attempts) throw error;
        await sleep(RESTART_PAUSE_MS);
      }
    }
  }

  /** SIGKILL, as the OOM killer or a pulled plug would, then a restart. */
  async kill(): Promise<void> {
    const service = this.service;
    if (!service || service.child.exitCode !== null || service.child.signalCode !== null) return;
    this.expectingExit = true;
    const exited = new Promise((resolve) => service.child.once('exit', resolve));
    service.child.kill('SIGKILL');
    await exited;
    this.expectingExit = false;
    this.restarts += 1;
    await this.start();
  }

  async stop(): Promise<void> {
    this.closing = true;
    this.expectingExit = true;
    await this.starting?.catch(() => undefined);
    await this.service?.stop();
    await new Promise((resolve) => this.log.end(resolve));
  }

  private watch(service: LocalService): void {
    this.service = service;
    const { child } = service;
    child.stdout?.on('data', (chunk: Buffer) => this.log.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.log.write(chunk));
    child.once('exit', (code, signal) => {
      if (this.expectingExit || this.closing) return;
      this.onCrash({ instance: this.name, at: Date.now() - this.startedAt, exit: signal ?? `code ${code}`, reason: crashReason(service.output()) });
      this.restarts += 1;
      void sleep(RESTART_PAUSE_MS).then(() => this.start());
    });
  }
}
