import type { MikroORM } from '@mikro-orm/postgresql';
import type pg from 'pg';

import { isoToMicros, microsToIso, nowIso } from '../../src/lib/time.js';
import { Trip, TripState } from '../../src/modules/trips/trip.entity.js';
import type { Services } from '../../src/services.js';
import type { TestCustomer, TestDevice } from './accounts.js';

export interface TestTrip {
  readonly id: string;
  readonly customerId: string;
  readonly deviceId: string;
  readonly startTimeUtc: string;
}

export interface StoredRecord {
  readonly ts: string;
  /** Exactly what the export must contain for this record. */
  readonly line: string;
}

/** A trip in progress, created through the ORM (trip detection is not what these tests exercise). */
export async function createTrip(orm: MikroORM, customer: TestCustomer, device: TestDevice, startTimeUtc: string): Promise<TestTrip> {
  const em = orm.em.fork();
  const trip = em.create(Trip, { customer: customer.customerId, device: device.id, startTimeUtc, state: TripState.IN_PROGRESS });
  await em.flush();
  return { id: trip.id, customerId: customer.customerId, deviceId: device.id, startTimeUtc };
}

/** `ts` plus `seconds`, canonical. */
export const addSeconds = (ts: string, seconds: number): string => microsToIso(isoToMicros(ts)! + BigInt(Math.round(seconds * 1e6)));

/**
 * `count` records every `stepSeconds` from `from`, as the ingest stores them (with @uid, @vid,
 * @rec). Values include backslashes, quotes and non-ASCII text, which must survive byte for byte.
 */
export function makeRecords(device: TestDevice, from: string, count: number, stepSeconds = 1, padding = 0): StoredRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const ts = addSeconds(from, i * stepSeconds);
    const line = JSON.stringify({
      '@t': 'obd.rpm',
      '@ts': ts,
      'obd.rpm.value': 800 + i,
      'obd.rpm.unit': 'revolutions_per_minute',
      note: `C:\\logs\\"${i}" ünïcødé ✓${'x'.repeat(padding)}`,
      '@uid': device.unitId,
      '@vid': device.vehicleId,
      '@rec': nowIso(),
    });
    return { ts, line };
  });
}

/** Stores records the way ingest does: in their month partitions, `line` kept verbatim. */
/** The lat/lon columns ingest fills from a `track.pos` line, so Trip.track sees these records too. */
function locationOf(line: string): { lat: number | null; lon: number | null } {
  if (!line.includes('"track.pos.loc"')) return { lat: null, lon: null };
  const loc = (JSON.parse(line) as Record<string, unknown>)['track.pos.loc'] as { lat?: unknown; lon?: unknown } | undefined;
  return typeof loc?.lat === 'number' && typeof loc.lon === 'number' ? { lat: loc.lat, lon: loc.lon } : { lat: null, lon: null };
}

export async function insertRecords(pool: pg.Pool, device: TestDevice, records: readonly StoredRecord[]): Promise<void> {
  for (const month of new Set(records.map((r) => `${r.ts.slice(0, 7)}-01T00:00:00Z`))) {
    await pool.query('select ensure_records_partition($1::timestamptz)', [month]);
  }
  const locations = records.map((r) => locationOf(r.line));
  await pool.query('insert into records (device_id, ts, line, lat, lon) select $1, unnest($2::timestamptz[]), unnest($3::text[]), unnest($4::float8[]), unnest($5::float8[])', [
    device.id,
    records.map((r) => r.ts),
    records.map((r) => r.line),
    locations.map((l) => l.lat),
    locations.map((l) => l.lon),
  ]);
}

/**
 * Ends the trip at `endTimeUtc` the way trip detection does: in one transaction that raises
 * `trip_end`, then runs the after-commit callbacks.
 */
export async function endTrip(services: Services, trip: TestTrip, endTimeUtc: string): Promise<void> {
  const client = await services.db.pool.connect();
  let after: (() => void)[] = [];
  try {
    await client.query('begin');
    const { rows } = await client.query<{ end_count: number }>(
      `update trips set state = 'completed', end_time_utc = $2, end_count = end_count + 1 where id = $1 returning end_count`,
      [trip.id, endTimeUtc],
    );
    after = await services.events.emitTripEnd(client, {
      tripId: trip.id,
      deviceId: trip.deviceId,
      customerId: trip.customerId,
      endTimeUtc,
      endCount: rows[0]!.end_count,
    });
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
  for (const callback of after) callback();
}

/** A start event within the reopen window: the trip is in progress again (no event is raised). */
export async function reopenTrip(pool: pg.Pool, trip: TestTrip): Promise<void> {
  await pool.query(`update trips set state = 'in_progress', end_time_utc = null where id = $1`, [trip.id]);
}

/**
 * `count` completed trips of `device` from `start`, an hour apart and half an hour long, each
 * with a SUCCESS task and its result, written straight into the tables (for read paths, not
 * for how trips come to be). Answers the trips' ids.
 */
export async function insertExportedTrips(pool: pg.Pool, customer: TestCustomer, device: TestDevice, start: string, count: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH trip AS (
       INSERT INTO trips (id, customer_id, device_id, start_time_utc, end_time_utc, state)
       SELECT gen_random_uuid(), $1, $2, $3::timestamptz + n * interval '1 hour', $3::timestamptz + n * interval '1 hour' + interval '30 minutes', 'completed'
         FROM generate_series(1, $4::int) n
       RETURNING id, customer_id, device_id)
     INSERT INTO tasks (customer_id, trip_id, device_id, state, result_path, result_bytes, result_sha256, result_records, result_at, revision)
     SELECT customer_id, id, device_id, 'SUCCESS', id || '/r.json.gz', 100, repeat('ab', 32), 10, now(), 1 FROM trip
     RETURNING trip_id AS id`,
    [customer.customerId, device.id, start, count],
  );
  return rows.map((row) => row.id);
}
