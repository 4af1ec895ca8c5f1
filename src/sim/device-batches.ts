import type { SimRecord, TimedRecord } from './fleet-data.js';

/** What a device sends in one request. */
export interface Batch {
  readonly records: SimRecord[];
  /** Device time (microseconds) at which the device sends it: the end of its upload interval. */
  readonly dueAt: number;
  /** Holds an event: trip boundaries must not arrive out of order in the simulator. */
  readonly hasEvents: boolean;
}

/**
 * Groups records the way a device's upload loop does: every `intervalSeconds` it sends what
 * it logged since the last upload, in requests of at most `maxRecords`.
 */
export function* deviceBatches(records: Iterable<TimedRecord>, intervalSeconds: number, maxRecords: number): Generator<Batch> {
  const interval = intervalSeconds * 1e6;
  let origin: number | undefined;
  let window = -1;
  let current: SimRecord[] = [];
  let hasEvents = false;
  const flush = (): Batch => {
    const batch = { records: current, dueAt: origin! + (window + 1) * interval, hasEvents };
    current = [];
    hasEvents = false;
    return batch;
  };
  for (const { at, record } of records) {
    origin ??= at;
    const w = Math.floor((at - origin) / interval);
    if ((w !== window || current.length >= maxRecords) && current.length > 0) yield flush();
    window = w;
    current.push(record);
    if (record['@t'].startsWith('event.')) hasEvents = true;
  }
  if (current.length > 0) yield flush();
}
