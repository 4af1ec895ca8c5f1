import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples };
}

export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times; returns what each run reported. */
export async function repeat<T>(runs: number, warmup: number, fn: (run: number) => Promise<T>): Promise<T[]> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const out: T[] = [];
  for (let i = 0; i < runs; i++) out.push(await fn(i));
  return out;
}

export function describeMachine(pgVersion: string): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let kernel = os.release();
  try {
    kernel = execFileSync('uname', ['-sr']).toString().trim();
  } catch {
    // keep os.release()
  }
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${kernel}, Node ${process.version}, ${pgVersion}`;
}

export const fmt = {
  s: (ms: number): string => `${(ms / 1000).toFixed(2)} s`,
  ms: (ms: number): string => `${ms.toFixed(1)} ms`,
  mb: (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`,
  rate: (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`,
  ratio: (x: number): string => `${x.toFixed(2)}×`,
};

/** A markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
