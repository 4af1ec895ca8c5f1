import { gzipSync } from 'node:zlib';

import { isoToMicros, microsToIso } from '../../src/lib/time.js';
import type { TestDevice } from './accounts.js';

/** Device records as a real unit logs them (product-facts.md). */
export type DeviceRecord = Record<string, unknown> & { '@t': string; '@ts': string };

/** `base` plus `seconds` as an ISO time with microseconds. */
export function at(base: string, seconds: number): string {
  return microsToIso(isoToMicros(base)! + BigInt(Math.round(seconds * 1_000_000)));
}

export const engine = (ts: string, tag: 'running' | 'stopped' | 'not_running'): DeviceRecord => ({
  '@t': 'event.vehicle.engine',
  '@tag': `vehicle/engine/${tag}`,
  '@ts': ts,
});

export const position = (ts: string, lat: number, lon: number): DeviceRecord => ({
  '@t': 'track.pos',
  '@ts': ts,
  'track.pos.loc': { lat, lon },
  'track.pos.alt': 12.5,
  'track.pos.sog': 42.1,
  'track.pos.cog': 87,
  'track.pos.nsat': 9,
  'track.pos.utc': ts,
});

export const rpm = (ts: string, value: number): DeviceRecord => ({
  '@t': 'obd.rpm',
  '@ts': ts,
  'obd.rpm.value': value,
  'obd.rpm.unit': 'revolutions_per_minute',
});

/** A drive: engine on at `start`, a point every `step` seconds for `seconds`, engine off. */
export function drive(start: string, seconds: number, step = 1): DeviceRecord[] {
  const out: DeviceRecord[] = [engine(start, 'running')];
  for (let s = step; s < seconds; s += step) {
    out.push(position(at(start, s), 56.1 + s * 0.0001, 10.2 + s * 0.0001));
    out.push(rpm(at(start, s + 0.000123), 800 + (s % 50)));
  }
  out.push(engine(at(start, seconds), 'stopped'));
  return out;
}

export interface UploadOptions {
  readonly gzip?: boolean;
  readonly jsonLines?: boolean;
  readonly token?: string;
  readonly unitId?: string;
}

/** Uploads like a device: `POST /logbook/storage/` with its token. */
export async function upload(
  baseUrl: string,
  device: TestDevice,
  records: unknown[],
  options: UploadOptions = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const text = options.jsonLines ? records.map((r) => JSON.stringify(r)).join('\n') + '\n' : JSON.stringify(records);
  const headers: Record<string, string> = {
    authorization: `token ${options.token ?? device.uploadToken}`,
    'content-type': options.jsonLines ? 'application/x-ndjson' : 'application/json',
    'unit-id': options.unitId ?? device.unitId,
  };
  let body: Buffer | string = text;
  if (options.gzip) {
    body = gzipSync(text);
    headers['content-encoding'] = 'gzip';
  }
  const response = await fetch(`${baseUrl}/logbook/storage/`, { method: 'POST', headers, body });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}
