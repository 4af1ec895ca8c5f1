import { formatDuration, secondsBetween } from '../../lib/time.js';

/** What the legacy trip object needs of a trip (a `Trip` entity or a row read with SQL). */
export interface TripFields {
  readonly id: string;
  readonly startTimeUtc: string;
  readonly endTimeUtc?: string | null;
  readonly state: string;
  readonly startLat?: number | null;
  readonly startLng?: number | null;
  readonly endLat?: number | null;
  readonly endLng?: number | null;
  readonly distanceKm: number;
}

export interface TripDeviceFields {
  readonly id: string;
  readonly unitId: string;
  readonly vehicleId: number;
}

/** The trip object of the legacy API (`logbook/trips/`) and line 1 of every export file. */
export interface TripJson {
  readonly id: string;
  readonly start_time_utc: string;
  readonly end_time_utc: string | null;
  readonly start_position_lat: string | null;
  readonly start_position_lng: string | null;
  readonly end_position_lat: string | null;
  readonly end_position_lng: string | null;
  readonly distance_km: number;
  readonly duration: string | null;
  readonly state: string;
  readonly device: string;
  readonly vehicle: number;
  readonly unit_id: string;
}

// The original product serialises positions as decimal strings ("56.144..."); scripts parse them as such.
const position = (value: number | null | undefined): string | null =>
  value === null || value === undefined ? null : String(value);

export function serializeTrip(trip: TripFields, device: TripDeviceFields): TripJson {
  const end = trip.endTimeUtc ?? null;
  return {
    id: trip.id,
    start_time_utc: trip.startTimeUtc,
    end_time_utc: end,
    start_position_lat: position(trip.startLat),
    start_position_lng: position(trip.startLng),
    end_position_lat: position(trip.endLat),
    end_position_lng: position(trip.endLng),
    distance_km: Math.round(trip.distanceKm * 1000) / 1000,
    duration: end ? formatDuration(secondsBetween(trip.startTimeUtc, end)) : null,
    state: trip.state,
    device: device.id,
    vehicle: device.vehicleId,
    unit_id: device.unitId,
  };
}
