/**
 * What the service acknowledged (2xx), per device, kept small enough for a long soak: each
 * record as its `@ts` (microseconds; unique per device, the simulator's records strictly
 * ascend) and a 48-bit fingerprint of its content, instead of the record itself.
 */
import { createHash } from 'node:crypto';

import { canonical } from '../../src/cli/demo/export-check.js';
import { isoToMicros } from '../../src/lib/time.js';

/** The fields the server adds to every record it stores. */
const SERVER_FIELDS = ['@uid', '@vid', '@rec'] as const;

export interface RecordPrint {
  readonly at: number;
  readonly print: number;
}

/** A record's `@ts` and content fingerprint, the server's own fields left out. */
export function recordPrint(record: Readonly<Record<string, unknown>>): RecordPrint {
  const content: Record<string, unknown> = { ...record };
  for (const field of SERVER_FIELDS) delete content[field];
  const at = typeof record['@ts'] === 'string' ? isoToMicros(record['@ts']) : undefined;
  const print = parseInt(createHash('sha1').update(canonical(content)).digest('hex').slice(0, 12), 16);
  return { at: at === undefined ? NaN : Number(at), print };
}

export class AckedRecords {
  private readonly byDevice = new Map<string, { at: number[]; print: number[] }>();
  private total = 0;

  get count(): number {
    return this.total;
  }

  get devices(): string[] {
    return [...this.byDevice.keys()];
  }

  add(deviceId: string, records: readonly Readonly<Record<string, unknown>>[]): void {
    let device = this.byDevice.get(deviceId);
    if (!device) this.byDevice.set(deviceId, (device = { at: [], print: [] }));
    for (const record of records) {
      const { at, print } = recordPrint(record);
      device.at.push(at);
      device.print.push(print);
    }
    this.total += records.length;
  }

  /** The device's acknowledged records: `@ts` to fingerprint. */
  ofDevice(deviceId: string): Map<number, number> {
    const device = this.byDevice.get(deviceId);
    return new Map(device ? device.at.map((at, i) => [at, device.print[i]!]) : []);
  }
}
