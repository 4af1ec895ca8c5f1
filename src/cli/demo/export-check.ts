import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

import { isoToMicros } from '../../lib/time.js';
import type { SimRecord } from '../../sim/fleet-data.js';

export interface CheckedExport {
  readonly bytes: number;
  readonly sha256: string;
  readonly records: number;
  readonly trip: Record<string, unknown>;
}

export interface ExpectedExport {
  readonly tripId: string;
  /** What the device uploaded, in `@ts` order. */
  readonly uploaded: readonly SimRecord[];
  readonly unitId: string;
  readonly vehicleId: number;
}

/** The server adds these to every record it stores. */
const SERVER_FIELDS = ['@uid', '@vid', '@rec'] as const;

/** JSON with sorted keys, so a record compares equal whatever order the server kept. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Checks a downloaded `TRIP_ID.json.gz` against the export contract: gzip of JSON Lines, no
 * blank lines, line 1 the trip, then every uploaded record in ascending `@ts`, exactly as
 * uploaded plus `@uid`, `@vid` and `@rec`. Throws naming the first thing that is wrong.
 */
export function checkExport(file: Buffer, expected: ExpectedExport): CheckedExport {
  let text: string;
  try {
    text = gunzipSync(file).toString('utf8');
  } catch (error) {
    throw new Error(`the file is not gzip: ${(error as Error).message}`);
  }
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const parse = (index: number): Record<string, unknown> => {
    const line = lines[index]!;
    if (line.trim() === '') throw new Error(`line ${index + 1} is blank`);
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`line ${index + 1} is not JSON: ${line.slice(0, 80)}`);
    }
  };
  const trip = parse(0);
  if (trip.id !== expected.tripId) throw new Error(`line 1 is trip ${String(trip.id)}, expected ${expected.tripId}`);
  const records = lines.length - 1;
  if (records !== expected.uploaded.length) throw new Error(`the file holds ${records} records, ${expected.uploaded.length} were uploaded`);
  let previous = -1n;
  for (let i = 1; i < lines.length; i++) {
    const record = parse(i);
    const at = typeof record['@ts'] === 'string' ? isoToMicros(record['@ts']) : undefined;
    if (at === undefined || at < previous) throw new Error(`line ${i + 1}: @ts ${String(record['@ts'])} is not in ascending order`);
    previous = at;
    if (record['@uid'] !== expected.unitId || record['@vid'] !== expected.vehicleId || typeof record['@rec'] !== 'string') {
      throw new Error(`line ${i + 1}: @uid, @vid or @rec is missing or wrong`);
    }
    const asUploaded = { ...record };
    for (const field of SERVER_FIELDS) delete asUploaded[field];
    if (canonical(asUploaded) !== canonical(expected.uploaded[i - 1])) {
      throw new Error(`line ${i + 1} differs from the record uploaded: ${lines[i]!.slice(0, 120)}`);
    }
  }
  return { bytes: file.length, sha256: createHash('sha256').update(file).digest('hex'), records, trip };
}
