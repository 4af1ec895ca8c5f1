/**
 * Realistic device records for demos, the fleet simulator and benchmarks: what a unit logs
 * during a drive (product-facts.md, "Recorded data"), generated lazily in `@ts` order so a
 * long run never holds more than one batch in memory.
 */
import { microsToIso } from '../lib/time.js';
import type { LatLon } from './geo.js';
import type { Random } from './random.js';
import { randomRoute, type Route } from './routes.js';
import { offsetBy, VehicleModel, type VehicleState } from './vehicle-model.js';

/** One record as a device uploads it. */
export type SimRecord = Record<string, unknown> & { '@t': string; '@ts': string };

/** A record and its device time in microseconds since the epoch (kept as a number for speed). */
export interface TimedRecord {
  readonly at: number;
  readonly record: SimRecord;
}

interface Stream {
  readonly type: string;
  /** Samples per second at the default logging profile. */
  readonly hz: number;
  readonly fields: (state: VehicleState, sensors: Sensors) => Record<string, unknown>;
}

/** Slowly wandering sensor errors, so a parked vehicle's fix jitters like a real one. */
interface Sensors {
  gpsEastM: number;
  gpsNorthM: number;
  nsat: number;
  cog: number;
  readonly random: Random;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** The default logging profile of a unit: fast GPS and OBD, slow temperatures and fuel. */
const STREAMS: readonly Stream[] = [
  {
    type: 'track.pos',
    hz: 1,
    fields: (s, sensors) => {
      sensors.gpsEastM = 0.92 * sensors.gpsEastM + sensors.random.normal() * 0.35;
      sensors.gpsNorthM = 0.92 * sensors.gpsNorthM + sensors.random.normal() * 0.35;
      if (sensors.random.chance(0.03)) sensors.nsat = Math.max(5, Math.min(14, sensors.nsat + (sensors.random.chance(0.5) ? 1 : -1)));
      // A receiver keeps its last course while standing still.
      if (s.speedMs > 1) sensors.cog = s.headingDeg;
      const fix = offsetBy(s.position, sensors.gpsEastM, sensors.gpsNorthM);
      return {
        'track.pos.loc': { lat: round(fix.lat, 6), lon: round(fix.lon, 6) },
        'track.pos.alt': round(s.altitudeM + sensors.random.normal() * 0.8, 1),
        'track.pos.sog': round(Math.max(0, s.speedMs * 3.6 + sensors.random.normal() * 0.3), 1),
        'track.pos.cog': round(sensors.cog, 1),
        'track.pos.nsat': sensors.nsat,
      };
    },
  },
  { type: 'obd.rpm', hz: 1, fields: (s) => ({ 'obd.rpm.value': round(s.rpm, 1), 'obd.rpm.unit': 'revolutions_per_minute' }) },
  { type: 'obd.speed', hz: 1, fields: (s) => ({ 'obd.speed.value': Math.round(s.speedMs * 3.6), 'obd.speed.unit': 'kph' }) },
  { type: 'obd.engine_load', hz: 0.5, fields: (s) => ({ 'obd.engine_load.value': round(s.engineLoadPct, 1), 'obd.engine_load.unit': 'percent' }) },
  { type: 'obd.coolant_temp', hz: 0.1, fields: (s) => ({ 'obd.coolant_temp.value': Math.round(s.coolantC), 'obd.coolant_temp.unit': 'degC' }) },
  { type: 'obd.fuel_level', hz: 1 / 60, fields: (s) => ({ 'obd.fuel_level.value': round(s.fuelPct, 1), 'obd.fuel_level.unit': 'percent' }) },
  {
    type: 'acc.xyz',
    hz: 4,
    fields: (s, { random }) => {
      const vibration = 0.006 + s.speedMs * 0.0007;
      return {
        'acc.xyz.x': round(s.accelMs2 / 9.81 + random.normal() * vibration, 3),
        'acc.xyz.y': round(s.lateralMs2 / 9.81 + random.normal() * vibration, 3),
        'acc.xyz.z': round(1 + random.normal() * vibration * 1.5, 3),
      };
    },
  },
];

/** Records per second of the default profile while the engine runs (about 7.6). */
const DEFAULT_RECORDS_PER_SECOND = STREAMS.reduce((sum, s) => sum + s.hz, 0);

export interface TripOptions {
  /** Device time of the engine-on event, microseconds since the epoch. */
  readonly startMicros: number;
  readonly route: Route;
  readonly random: Random;
  /** Scales every stream's rate so the trip logs about this many records per second. */
  readonly recordsPerSecond?: number;
  /** Stop the engine at the latest this many seconds after it started (else: on arrival). */
  readonly maxSeconds?: number;
}

const engineEvent = (at: number, tag: 'running' | 'stopped'): TimedRecord => ({
  at,
  record: { '@t': 'event.vehicle.engine', '@ts': microsToIso(BigInt(at)), '@tag': `vehicle/engine/${tag}` },
});

/**
 * One trip: `vehicle/engine/running`, the samples of every stream in `@ts` order (each
 * stream with its own phase and a few milliseconds of jitter, as real loggers have), then
 * `vehicle/engine/stopped`. Returns where the vehicle stopped.
 */
export function* tripRecords(options: TripOptions): Generator<TimedRecord, LatLon> {
  const { random, startMicros } = options;
  const scale = (options.recordsPerSecond ?? DEFAULT_RECORDS_PER_SECOND) / DEFAULT_RECORDS_PER_SECOND;
  const vehicle = new VehicleModel(options.route, random, {
    idleStartSeconds: random.between(8, 25),
    idleEndSeconds: random.between(4, 12),
    ...(options.maxSeconds === undefined ? {} : { maxSeconds: options.maxSeconds }),
  });
  const sensors: Sensors = { gpsEastM: 0, gpsNorthM: 0, nsat: random.int(7, 11), cog: 0, random };
  const periods = STREAMS.map((s) => 1_000_000 / (s.hz * scale));
  // First sample of each stream shortly after engine-on, at a stream-specific phase.
  const next = periods.map((p) => startMicros + 50_000 + random.next() * Math.min(p, 5_000_000));
  let last = startMicros;
  yield engineEvent(startMicros, 'running');
  for (;;) {
    let pick = 0;
    for (let i = 1; i < next.length; i++) if (next[i]! < next[pick]!) pick = i;
    // Whole microseconds, strictly after the previous record: the export orders by `@ts`.
    const at = Math.max(Math.round(next[pick]!), last + 1);
    const seconds = (at - startMicros) / 1e6;
    vehicle.advanceTo(seconds);
    const offAt = vehicle.engineOffAt();
    if (offAt !== undefined && seconds >= offAt) {
      yield engineEvent(Math.max(startMicros + Math.round(offAt * 1e6), last + 1), 'stopped');
      return vehicle.state().position;
    }
    const stream = STREAMS[pick]!;
    yield { at, record: { '@t': stream.type, '@ts': microsToIso(BigInt(at)), ...stream.fields(vehicle.state(), sensors) } };
    last = at;
    next[pick] = next[pick]! + periods[pick]! + random.normal() * 2_000;
  }
}

export interface DeviceDayOptions {
  readonly startMicros: number;
  /** Device time covered, seconds: trips with parked gaps between them. */
  readonly seconds: number;
  readonly random: Random;
  readonly home: LatLon;
  readonly recordsPerSecond?: number;
}

/** Longer than any default reopen limit (600 s), so each drive is a trip of its own. */
const PARKED_SECONDS: readonly [number, number] = [12 * 60, 40 * 60];
const TRIP_SECONDS: readonly [number, number] = [5 * 60, 20 * 60];

/**
 * A vehicle's working time: drives of 5-20 minutes on random roads, each starting where the
 * last one parked, until `seconds` of device time are used. Every drive is a complete trip.
 */
export function* deviceRecords(options: DeviceDayOptions): Generator<TimedRecord> {
  const { random } = options;
  const end = options.startMicros + options.seconds * 1e6;
  let at = options.startMicros;
  let position = options.home;
  let n = 0;
  while (end - at >= 15e6) {
    const seconds = Math.min(random.between(...TRIP_SECONDS), (end - at) / 1e6);
    // 90 km/h for the whole time is more road than any drive uses.
    const route = randomRoute(random.fork(), position, 25 * seconds + 500, `drive ${++n}`);
    position = yield* tripRecords({ startMicros: at, route, random, maxSeconds: seconds, ...recordsPerSecondOf(options) });
    at += Math.round((seconds + random.between(...PARKED_SECONDS)) * 1e6);
  }
}

const recordsPerSecondOf = (o: { recordsPerSecond?: number }) => (o.recordsPerSecond === undefined ? {} : { recordsPerSecond: o.recordsPerSecond });
