import { bearingDeg, destination, distanceM, headingChange, type LatLon } from './geo.js';
import type { Random } from './random.js';

/** A point of a route; `limitKmh` holds on the stretch that starts here. */
export interface Waypoint extends LatLon {
  readonly limitKmh: number;
  /** Seconds the vehicle stands here (traffic light, junction) before driving on. */
  readonly stopSeconds?: number;
}

export interface Route {
  readonly name: string;
  readonly points: readonly Waypoint[];
}

export interface Segment {
  readonly from: Waypoint;
  readonly to: Waypoint;
  /** Distance from the route's start to `from`, metres. */
  readonly startM: number;
  readonly lengthM: number;
  readonly bearing: number;
  readonly limitMs: number;
  /** Speed at which the vehicle may pass `to` (a turn, a stop or the end), m/s. */
  readonly exitMs: number;
  readonly stopSeconds: number;
}

const kmh = (v: number): number => v / 3.6;

/** Cornering speed for a change of heading: a right-angle turn is taken at about 20 km/h. */
function cornerSpeedMs(turnDeg: number, limitMs: number): number {
  const turn = Math.abs(turnDeg);
  if (turn < 12) return limitMs;
  return Math.min(limitMs, kmh(Math.max(15, 75 - turn * 0.6)));
}

/** Precomputes what the driver model needs: lengths, headings and how fast each corner can be taken. */
export function segmentsOf(route: Route): Segment[] {
  const segments: Segment[] = [];
  let startM = 0;
  const { points } = route;
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i]!;
    const to = points[i + 1]!;
    const lengthM = distanceM(from, to);
    if (lengthM < 0.5) continue;
    const bearing = bearingDeg(from, to);
    const after = points[i + 2];
    const limitMs = kmh(from.limitKmh);
    const last = after === undefined;
    const stopSeconds = last ? 0 : (to.stopSeconds ?? 0);
    const exitMs = last || stopSeconds > 0 ? 0 : cornerSpeedMs(headingChange(bearing, bearingDeg(to, after)), Math.min(limitMs, kmh(to.limitKmh)));
    segments.push({ from, to, startM, lengthM, bearing, limitMs, exitMs, stopSeconds });
    startM += lengthM;
  }
  if (segments.length === 0) throw new Error(`route ${route.name} has no length`);
  return segments;
}

/**
 * Approximately Aarhus C (Denmark) north along Nørrebrogade and Randersvej: city streets at
 * 50 km/h with two traffic lights, then the arterial road at 60-70 km/h; about 7 km.
 */
export const DEMO_ROUTE: Route = {
  name: 'Aarhus C - Randersvej',
  points: [
    { lat: 56.15025, lon: 10.20435, limitKmh: 50 },
    { lat: 56.15302, lon: 10.20461, limitKmh: 50 },
    { lat: 56.15611, lon: 10.20503, limitKmh: 50, stopSeconds: 24 },
    { lat: 56.15958, lon: 10.20551, limitKmh: 50 },
    { lat: 56.16219, lon: 10.20297, limitKmh: 50 },
    { lat: 56.16502, lon: 10.19996, limitKmh: 50, stopSeconds: 31 },
    { lat: 56.16833, lon: 10.19881, limitKmh: 60 },
    { lat: 56.17412, lon: 10.19672, limitKmh: 60 },
    { lat: 56.17983, lon: 10.19444, limitKmh: 60 },
    { lat: 56.18521, lon: 10.19213, limitKmh: 70 },
    { lat: 56.19144, lon: 10.18937, limitKmh: 70 },
    { lat: 56.19752, lon: 10.18561, limitKmh: 70, stopSeconds: 18 },
    { lat: 56.20387, lon: 10.18102, limitKmh: 70 },
    { lat: 56.20951, lon: 10.17712, limitKmh: 60 },
    { lat: 56.21302, lon: 10.17805, limitKmh: 50 },
    { lat: 56.21388, lon: 10.18124, limitKmh: 50 },
  ],
};

/**
 * A road-like random route of at least `lengthM` metres: straight stretches with gentle bends,
 * now and then a turn at a junction (some with a stop), limits that change by stretch.
 */
export function randomRoute(random: Random, start: LatLon, lengthM: number, name = 'random'): Route {
  const limits = [50, 50, 60, 70, 80];
  const pickLimit = (): number => limits[random.int(0, limits.length - 1)]!;
  let limitKmh = pickLimit();
  let heading = random.between(0, 360);
  let at: LatLon = start;
  let total = 0;
  let stopSeconds: number | undefined;
  const points: Waypoint[] = [];
  for (;;) {
    points.push({ ...at, limitKmh, ...(stopSeconds ? { stopSeconds } : {}) });
    if (total >= lengthM) break;
    const stretch = random.between(120, 520);
    at = destination(at, heading, stretch);
    total += stretch;
    // What happens at the point just reached: mostly a gentle bend, sometimes a junction
    // where the vehicle turns, maybe waits, and the road (and its limit) changes.
    const junction = random.chance(0.18);
    stopSeconds = junction && random.chance(0.4) ? random.int(8, 40) : undefined;
    if (junction) {
      heading += random.chance(0.5) ? random.between(70, 100) : -random.between(70, 100);
      limitKmh = pickLimit();
    } else heading += random.normal() * 8;
  }
  return { name, points };
}
