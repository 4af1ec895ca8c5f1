/**
 * A realistic trip as a device logs it (product-facts.md): engine events, 1 Hz GPS, OBD
 * readings at their usual rates and 5 Hz accelerometer, about 9 records a second.
 */
import { isoToMicros, microsToIso, nowIso } from '../src/lib/time.js';
import { encodeRecordRows, type RecordRow, storedLineMaker } from '../src/modules/ingest/record-copy.js';

export interface BenchRecord {
  readonly at: bigint;
  readonly record: Record<string, unknown>;
}

/** Per second of driving: [type, records per second]. */
const RATES: readonly [string, number][] = [
  ['track.pos', 1],
  ['obd.speed', 1],
  ['obd.rpm', 1],
  ['obd.engine_load', 0.5],
  ['obd.coolant_temp', 0.2],
  ['obd.fuel_level', 0.1],
  ['obd.intake_temp', 0.1],
  ['acc.xyz', 5],
];
const PER_SECOND = RATES.reduce((s, [, r]) => s + r, 0);

function reading(type: string, ts: string, second: number): Record<string, unknown> {
  switch (type) {
    case 'track.pos':
      return {
        '@t': type,
        '@ts': ts,
        'track.pos.loc': { lat: 56.15 + second * 0.00012, lon: 10.2 + Math.sin(second / 300) * 0.01 },
        'track.pos.alt': 40 + Math.sin(second / 90) * 8,
        'track.pos.sog': 45 + Math.sin(second / 40) * 15,
        'track.pos.cog': (90 + second / 10) % 360,
        'track.pos.nsat': 9,
        'track.pos.utc': ts,
      };
    case 'acc.xyz':
      return { '@t': type, '@ts': ts, 'acc.xyz.x': 0.01 * (second % 7), 'acc.xyz.y': -0.02, 'acc.xyz.z': 0.98 };
    case 'obd.rpm':
      return { '@t': type, '@ts': ts, 'obd.rpm.value': 1500 + (second % 40) * 20.5, 'obd.rpm.unit': 'revolutions_per_minute' };
    case 'obd.speed':
      return { '@t': type, '@ts': ts, 'obd.speed.value': 45 + (second % 30), 'obd.speed.unit': 'km/h' };
    default:
      return { '@t': type, '@ts': ts, [`${type}.value`]: 20 + (second % 50), [`${type}.unit`]: type.endsWith('temp') ? 'degC' : 'percent' };
  }
}

/** `count` records of one trip starting at `start` (ISO): engine on, readings, engine off. */
export function* tripRecords(start: string, count: number): Generator<BenchRecord> {
  const t0 = isoToMicros(start)!;
  const seconds = Math.max(1, Math.ceil((count - 2) / PER_SECOND));
  yield { at: t0, record: { '@t': 'event.vehicle.engine', '@tag': 'vehicle/engine/running', '@ts': microsToIso(t0) } };
  let emitted = 1;
  for (let s = 0; s < seconds && emitted < count - 1; s++) {
    for (const [type, rate] of RATES) {
      const n = rate >= 1 ? rate : s % Math.round(1 / rate) === 0 ? 1 : 0;
      for (let i = 0; i < n && emitted < count - 1; i++) {
        // Distinct microsecond offsets keep the order total, like a real device's clock.
        const at = t0 + BigInt(s) * 1_000_000n + BigInt(Math.floor((i * 1_000_000) / Math.max(1, n))) + BigInt(emitted % 997) + 1n;
        yield { at, record: reading(type, microsToIso(at), s) };
        emitted += 1;
      }
    }
  }
  const end = t0 + BigInt(seconds + 1) * 1_000_000n;
  yield { at: end, record: { '@t': 'event.vehicle.engine', '@tag': 'vehicle/engine/stopped', '@ts': microsToIso(end) } };
}

/** Records grouped as devices upload them: JSON arrays of `size`. */
export function* batches(start: string, count: number, size = 1000): Generator<string> {
  let batch: Record<string, unknown>[] = [];
  for (const { record } of tripRecords(start, count)) {
    batch.push(record);
    if (batch.length === size) {
      yield JSON.stringify(batch);
      batch = [];
    }
  }
  if (batch.length) yield JSON.stringify(batch);
}

/**
 * Sensor noise: each reading's numbers get random low digits, as real sensors log them. Such a
 * trip's JSON Lines gzip to 0.070x (the smooth readings above to 0.057x; measured on 100,000 records), which is what
 * a compressed store is measured against.
 */
function noisy(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'number' && key !== 'track.pos.nsat') out[key] = Number((value + Math.random() * 0.01).toFixed(4));
    else if (value && typeof value === 'object') out[key] = noisy(value as Record<string, unknown>);
    else out[key] = value;
  }
  return out;
}

export interface StoredTripSpec {
  readonly device: { readonly id: string; readonly unitId: string; readonly vehicleId: number };
  readonly start: string;
  readonly count: number;
  /** Readings with sensor noise ({@link noisy}). */
  readonly noisy?: boolean;
}

/** Trips of devices as the rows of one COPY in about 1 MiB chunks, stored exactly as uploads store them. */
export function copyChunks(trips: readonly StoredTripSpec[], received = nowIso()): Generator<Buffer> {
  function* rows(device: { readonly unitId: string; readonly vehicleId: number }, start: string, count: number, withNoise: boolean): Generator<RecordRow> {
    const line = storedLineMaker(device, received);
    for (const { at, record: smooth } of tripRecords(start, count)) {
      const record = withNoise ? noisy(smooth) : smooth;
      const loc = record['track.pos.loc'] as { lat: number; lon: number } | undefined;
      yield { at, line: line(record), lat: loc?.lat ?? null, lon: loc?.lon ?? null };
    }
  }
  return encodeRecordRows(
    trips.map(({ device, start, count, noisy: withNoise }) => ({ deviceId: device.id, rows: rows(device, start, count, withNoise ?? false) })),
    1 << 20,
  );
}
