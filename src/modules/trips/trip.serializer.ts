import { formatDuration, nowIso, secondsBetween } from '../../lib/time.js';
import type { TripState } from './trip.entity.js';

/** What the legacy trip object is built from: a trip row and its device. */
export interface TripRow {
  readonly id: string;
  readonly startTimeUtc: string;
  readonly endTimeUtc?: string | null;
  readonly state: TripState | `${TripState}`;
  readonly startLat?: number | null;
  readonly startLng?: number | null;
  readonly endLat?: number | null;
  readonly endLng?: number | null;
  readonly distanceKm: number;
  readonly deviceId: string;
  readonly vehicleId: number;
  readonly unitId: string;
}

/** "HH:MM:SS" of a trip; one in progress counts up to now. */
export const tripDuration = (startTimeUtc: string, endTimeUtc: string | null | undefined): string => formatDuration(secondsBetween(startTimeUtc, endTimeUtc ?? nowIso()));

/** Positions travel as decimal strings, as in the original API. */
const coordinate = (value: number | null | undefined): string | null => (value === null || value === undefined ? null : String(value));

/**
 * The trip object of the legacy API (`GET /logbook/trips/`) and line 1 of every export.
 * `duration` of a trip in progress counts up to now.
 */
export function tripJson(row: TripRow): Record<string, unknown> {
  return {
    id: row.id,
    start_time_utc: row.startTimeUtc,
    end_time_utc: row.endTimeUtc ?? null,
    start_position_lat: coordinate(row.startLat),
    start_position_lng: coordinate(row.startLng),
    end_position_lat: coordinate(row.endLat),
    end_position_lng: coordinate(row.endLng),
    distance_km: Math.round(row.distanceKm * 1000) / 1000,
    duration: tripDuration(row.startTimeUtc, row.endTimeUtc),
    state: row.state,
    device: row.deviceId,
    vehicle: row.vehicleId,
    unit_id: row.unitId,
  };
}
