/** A trip and its device read with plain SQL, for the export file and the signal payload. */
import { canonicalIso } from '../../lib/time.js';
import type { TripState } from '../trips/trip.entity.js';
import { tripJson } from '../trips/trip.serializer.js';

/** A trip with its device, read with SQL by the export and the announcement jobs. */
export interface TripWithDevice {
  readonly tripId: string;
  readonly startTimeUtc: string;
  readonly endTimeUtc: string | null;
  /** The legacy trip object: line 1 of the export, `trip` of the signal payload. */
  readonly trip: Record<string, unknown>;
  readonly customerId: string;
  readonly device: { readonly id: string; readonly unitId: string; readonly vehicleId: number; readonly name: string };
}

/** Columns for {@link tripWithDevice}; `tr` is trips, `d` is devices. */
export const TRIP_WITH_DEVICE_COLUMNS = `tr.id as trip_id, tr.customer_id, tr.start_time_utc::text, tr.end_time_utc::text, tr.state::text,
  tr.start_lat, tr.start_lng, tr.end_lat, tr.end_lng, tr.distance_km,
  d.id as device_id, d.unit_id::text, d.vehicle_id, d.name as device_name`;

export interface TripWithDeviceRow {
  trip_id: string;
  customer_id: string;
  start_time_utc: string;
  end_time_utc: string | null;
  state: string;
  start_lat: number | null;
  start_lng: number | null;
  end_lat: number | null;
  end_lng: number | null;
  distance_km: number;
  device_id: string;
  unit_id: string;
  vehicle_id: number;
  device_name: string;
}

const iso = (value: string): string => canonicalIso(value) ?? value;

export function tripWithDevice(row: TripWithDeviceRow): TripWithDevice {
  const device = { id: row.device_id, unitId: row.unit_id, vehicleId: row.vehicle_id, name: row.device_name };
  const startTimeUtc = iso(row.start_time_utc);
  const endTimeUtc = row.end_time_utc === null ? null : iso(row.end_time_utc);
  const trip = tripJson({
    id: row.trip_id,
    startTimeUtc,
    endTimeUtc,
    state: row.state as TripState,
    startLat: row.start_lat,
    startLng: row.start_lng,
    endLat: row.end_lat,
    endLng: row.end_lng,
    distanceKm: row.distance_km,
    deviceId: device.id,
    vehicleId: device.vehicleId,
    unitId: device.unitId,
  });
  return { tripId: row.trip_id, startTimeUtc, endTimeUtc, trip, customerId: row.customer_id, device };
}
