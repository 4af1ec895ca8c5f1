import { destination, headingChange, type LatLon, lerp } from './geo.js';
import type { Random } from './random.js';
import { type Route, type Segment, segmentsOf } from './routes.js';

/** What the sensors of a simulated vehicle read at one moment. */
export interface VehicleState {
  readonly position: LatLon;
  readonly headingDeg: number;
  readonly speedMs: number;
  /** Longitudinal acceleration, m/s². */
  readonly accelMs2: number;
  /** Lateral acceleration in a bend, m/s² (positive to the right). */
  readonly lateralMs2: number;
  readonly altitudeM: number;
  readonly rpm: number;
  readonly engineLoadPct: number;
  readonly coolantC: number;
  readonly fuelPct: number;
}

export interface DriveOptions {
  /** Seconds the engine idles before the vehicle moves off. */
  readonly idleStartSeconds: number;
  /** Seconds it idles after arriving, before the engine stops. */
  readonly idleEndSeconds: number;
  /** The engine stops at the latest this many seconds after it started. */
  readonly maxSeconds?: number;
}

const STEP_S = 0.2;
const BRAKE_MS2 = 2.0;
const LOOK_AHEAD_M = 400;
const GEAR_FROM_KMH = [0, 15, 30, 45, 65, 85];
const RPM_PER_KMH = [105, 62, 44, 34, 28, 23];
const TANK_L = 50;

/**
 * A driver following a route: moves off after idling, keeps near the limit, slows for bends,
 * waits at stops, arrives and idles; and an engine whose readings follow from that.
 * Time is in seconds since the engine started; it only moves forward (`advanceTo`).
 */
export class VehicleModel {
  private readonly segments: Segment[];
  private readonly totalM: number;
  private readonly driverFactor: number;
  private readonly altitudePhase: number;
  private t = 0;
  private travelledM = 0;
  private v = 0;
  private a = 0;
  private index = 0;
  private waitUntil = 0;
  private waited = -1;
  private coolant: number;
  private fuelL: number;
  private arrivedAt: number | undefined;

  constructor(
    route: Route,
    private readonly random: Random,
    private readonly options: DriveOptions,
  ) {
    this.segments = segmentsOf(route);
    const last = this.segments[this.segments.length - 1]!;
    this.totalM = last.startM + last.lengthM;
    this.driverFactor = random.between(0.9, 1.04);
    this.altitudePhase = random.between(0, 2 * Math.PI);
    this.coolant = random.between(6, 18);
    this.fuelL = random.between(0.35, 0.85) * TANK_L;
    this.waitUntil = options.idleStartSeconds;
  }

  /** When the engine stops, once known (after arrival); `maxSeconds` otherwise. */
  engineOffAt(): number | undefined {
    if (this.arrivedAt !== undefined) return Math.min(this.arrivedAt + this.options.idleEndSeconds, this.options.maxSeconds ?? Infinity);
    return this.options.maxSeconds;
  }

  advanceTo(seconds: number): void {
    while (this.t < seconds) {
      const dt = Math.min(STEP_S, seconds - this.t);
      this.step(dt);
      this.t += dt;
    }
  }

  private step(dt: number): void {
    const target = this.t < this.waitUntil || this.arrivedAt !== undefined ? 0 : this.targetSpeed();
    const accelMax = Math.max(0.4, 2.2 * (1 - this.v / 40));
    this.a = target === 0 && this.v < 0.3 ? -this.v / dt : Math.max(-3.5, Math.min(accelMax, (target - this.v) / 1.2));
    this.v = Math.max(0, this.v + this.a * dt);
    this.travelledM += this.v * dt;
    this.passWaypoints();
    const running = this.t < (this.engineOffAt() ?? Infinity);
    if (running) {
      this.coolant += ((90 + this.random.normal() * 0.3 - this.coolant) * dt) / 260;
      this.fuelL -= (0.8 / 3600) * dt + (0.07 / 1000) * this.v * dt * (1 + Math.max(0, this.a) * 0.5);
    }
  }

  /** The speed the driver aims for now: the limit, capped by what lets it brake for what comes. */
  private targetSpeed(): number {
    const segment = this.segments[this.index]!;
    let target = segment.limitMs * this.driverFactor;
    let ahead = segment.startM + segment.lengthM - this.travelledM;
    for (let i = this.index; i < this.segments.length && ahead < LOOK_AHEAD_M; i++) {
      const s = this.segments[i]!;
      target = Math.min(target, Math.sqrt(s.exitMs ** 2 + 2 * BRAKE_MS2 * Math.max(0, ahead)));
      ahead += this.segments[i + 1]?.lengthM ?? Infinity;
    }
    const { maxSeconds } = this.options;
    if (maxSeconds !== undefined) target = Math.min(target, BRAKE_MS2 * Math.max(0, maxSeconds - this.options.idleEndSeconds - this.t));
    // Creep the last metre to a stop line rather than approach it forever.
    return target < 1 && this.t < (maxSeconds ?? Infinity) - this.options.idleEndSeconds ? 1 : target;
  }

  private passWaypoints(): void {
    for (;;) {
      const segment = this.segments[this.index]!;
      const end = segment.startM + segment.lengthM;
      const stopHere = segment.exitMs === 0 && this.waited !== this.index;
      if (this.travelledM < end - (stopHere ? 0.5 : 0)) return;
      if (this.index === this.segments.length - 1) {
        this.travelledM = this.totalM;
        this.v = 0;
        this.arrivedAt ??= this.t;
        return;
      }
      if (stopHere) {
        this.travelledM = end;
        this.v = 0;
        this.waited = this.index;
        this.waitUntil = this.t + segment.stopSeconds;
      }
      this.index += 1;
    }
  }

  state(): VehicleState {
    const segment = this.segments[this.index]!;
    const f = Math.min(1, Math.max(0, (this.travelledM - segment.startM) / segment.lengthM));
    const position = lerp(segment.from, segment.to, f);
    const kmh = this.v * 3.6;
    const gear = GEAR_FROM_KMH.findLastIndex((from) => kmh >= from);
    const rpm = this.v < 0.3 ? 780 + this.random.normal() * 12 : Math.max(900, kmh * RPM_PER_KMH[gear]!) + Math.max(0, this.a) * 140;
    const load = this.v < 0.3 ? 19 + this.random.normal() : this.a < -0.4 ? 6 + this.random.normal() : 24 + kmh * 0.25 + Math.max(0, this.a) * 18;
    return {
      position,
      headingDeg: segment.bearing,
      speedMs: this.v,
      accelMs2: this.a,
      lateralMs2: this.lateral(segment),
      altitudeM: 32 + 18 * Math.sin(this.travelledM / 1700 + this.altitudePhase) + 6 * Math.sin(this.travelledM / 430),
      rpm: Math.min(4800, rpm),
      engineLoadPct: Math.max(0, Math.min(100, load)),
      coolantC: this.coolant,
      fuelPct: (100 * this.fuelL) / TANK_L,
    };
  }

  /** Centripetal acceleration while taking the bend at the end of the segment (last 12 m). */
  private lateral(segment: Segment): number {
    const next = this.segments[this.index + 1];
    const left = segment.startM + segment.lengthM - this.travelledM;
    if (!next || left > 12) return 0;
    const turnRad = (headingChange(segment.bearing, next.bearing) * Math.PI) / 180;
    return (this.v ** 2 * turnRad) / 12;
  }
}

/** `position` moved by a small offset in metres east and north (GPS error). */
export const offsetBy = (position: LatLon, eastM: number, northM: number): LatLon => destination(destination(position, 90, eastM), 0, northM);
