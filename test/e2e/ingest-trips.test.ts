import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { TripEndEvent } from '../../src/lib/domain-events.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { at, drive, engine, position, rpm, upload } from '../factories/records.js';
import { TripDocument, TripsDocument } from '../generated/graphql.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

interface LegacyTrip {
  id: string;
  start_time_utc: string;
  end_time_utc: string | null;
  start_position_lat: string | null;
  end_position_lng: string | null;
  distance_km: number;
  duration: string;
  state: string;
  device: string;
  vehicle: number;
  unit_id: string;
}
interface LegacyPage {
  count: number;
  next: string | null;
  previous: string | null;
  results: LegacyTrip[];
}

/** Great-circle distance, computed independently of the service's SQL. */
function haversineKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.sqrt(h));
}

describe('device uploads and trips', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;
  const ended: TripEndEvent[] = [];

  before(async () => {
    t = await startTestApp();
    t.app.services.events.onTripEnd(async (_tx, event) => {
      ended.push(event);
    });
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
  });
  after(() => t.close());

  const storedLines = async (device: TestDevice): Promise<Record<string, unknown>[]> => {
    const { rows } = await t.db.pool.query<{ line: string }>('SELECT line FROM records WHERE device_id = $1 ORDER BY ts', [device.id]);
    return rows.map((r) => JSON.parse(r.line) as Record<string, unknown>);
  };

  it('cuts a trip out of an upload and shows it over GraphQL and REST with microseconds kept', async () => {
    const device = await createDevice(t.db.orm, acme);
    const start = '2026-03-02T08:00:00.123456Z';
    const records = drive(start, 120, 10);
    const res = await upload(t.baseUrl, device, records);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { stored: records.length, duplicate: false, trips: { started: 1, ended: 1, reopened: 0 } });

    const lines = await storedLines(device);
    assert.equal(lines.length, records.length);
    for (const line of lines) {
      assert.equal(line['@uid'], device.unitId);
      assert.equal(line['@vid'], device.vehicleId);
      assert.match(String(line['@rec']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    }
    assert.deepEqual(lines[1], { ...records[1], '@uid': device.unitId, '@vid': device.vehicleId, '@rec': lines[1]!['@rec'] });

    const legacy = await request<LegacyPage>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: acme.apiToken });
    assert.equal(legacy.status, 200);
    assert.equal(legacy.body.count, 1);
    const trip = legacy.body.results[0]!;
    assert.equal(trip.start_time_utc, start);
    assert.equal(trip.end_time_utc, at(start, 120));
    assert.equal(trip.state, 'completed');
    assert.equal(trip.duration, '00:02:00');
    assert.equal(trip.device, device.id);
    assert.equal(trip.vehicle, device.vehicleId);
    assert.equal(trip.unit_id, device.unitId);
    assert.equal(trip.start_position_lat, String(56.1 + 10 * 0.0001));
    const points = records.filter((r) => r['@t'] === 'track.pos').map((r) => r['track.pos.loc'] as { lat: number; lon: number });
    const expectedKm = points.slice(1).reduce((sum, p, i) => sum + haversineKm(points[i]!, p), 0);
    assert.ok(Math.abs(trip.distance_km - expectedKm) < 0.002, `distance ${trip.distance_km} vs ${expectedKm}`);
    assert.equal(trip.end_position_lng, String(points[points.length - 1]!.lon));

    const gq = await gql(t.baseUrl, TripsDocument, { deviceId: device.id }, acme.apiToken);
    assert.equal(gq.data?.trips.totalCount, 1);
    assert.equal(gq.data?.trips.edges[0]?.node.id, trip.id);
    assert.equal(gq.data?.trips.edges[0]?.node.startTimeUtc, start);

    const event = ended.find((e) => e.tripId === trip.id);
    assert.deepEqual(event, { tripId: trip.id, deviceId: device.id, customerId: acme.customerId, endTimeUtc: at(start, 120), endCount: 1 });
  });

  it('accepts gzip and JSON Lines, and stores the same batch only once', async () => {
    const device = await createDevice(t.db.orm, acme);
    const records = drive('2026-03-03T09:00:00Z', 30, 5);
    const first = await upload(t.baseUrl, device, records, { gzip: true, jsonLines: true });
    assert.equal(first.status, 200);
    const again = await upload(t.baseUrl, device, records, { gzip: true, jsonLines: true });
    assert.equal(again.status, 200, 'a repeat must still be 2xx or the device retries forever');
    assert.equal(again.body.duplicate, true);
    assert.equal((await storedLines(device)).length, records.length);
  });

  it('refuses a batch with bad records whole, naming them, and stores nothing', async () => {
    const device = await createDevice(t.db.orm, acme);
    const res = await upload(t.baseUrl, device, [
      position('2026-03-04T10:00:00Z', 1, 2),
      { '@t': 'obd.rpm', '@ts': 'not a time' },
      { '@t': 'event.vehicle.engine', '@ts': '2026-03-04T10:00:01Z' },
      { '@ts': '2026-03-04T10:00:02Z' },
    ]);
    assert.equal(res.status, 400);
    assert.match(String(res.body.detail), /3 of 4 records are invalid/);
    assert.deepEqual(
      (res.body.bad_records as { index: number }[]).map((b) => b.index),
      [1, 2, 3],
    );
    assert.equal((await storedLines(device)).length, 0);

    const notJson = await fetch(`${t.baseUrl}/logbook/storage/`, { method: 'POST', headers: { authorization: `token ${device.uploadToken}` }, body: '[{"@t":' });
    assert.equal(notJson.status, 400);
    assert.match(((await notJson.json()) as { detail: string }).detail, /not valid JSON/);
  });

  it('answers 413 for too many records or too many bytes', async () => {
    const small = await startTestApp({ UPLOAD_MAX_RECORDS: '5', UPLOAD_MAX_BYTES: '2048' }, { db: t.db });
    try {
      const device = await createDevice(t.db.orm, acme);
      const many = Array.from({ length: 6 }, (_, i) => rpm(at('2026-03-05T00:00:00Z', i), 900));
      assert.equal((await upload(small.baseUrl, device, many)).status, 413);
      const big = [{ ...rpm('2026-03-05T00:00:00Z', 1), pad: 'x'.repeat(4096) }];
      assert.equal((await upload(small.baseUrl, device, big)).status, 413);
      assert.equal((await storedLines(device)).length, 0);
    } finally {
      await small.close();
    }
  });

  it('refuses uploads without a valid device token or with another unit id', async () => {
    const device = await createDevice(t.db.orm, acme);
    const other = await createDevice(t.db.orm, acme);
    const records = [rpm('2026-03-06T00:00:00Z', 1)];
    assert.equal((await upload(t.baseUrl, device, records, { token: 'dev_wrong' })).status, 401);
    assert.equal((await upload(t.baseUrl, device, records, { unitId: other.unitId })).status, 401);
    const user = await fetch(`${t.baseUrl}/logbook/storage/`, { method: 'POST', headers: { authorization: `APIToken ${acme.apiToken}` }, body: '[]' });
    assert.equal(user.status, 401, 'a user token is not a device token');
  });

  it('counts positions streamed during a trip, and late positions that land inside an ended trip', async () => {
    const device = await createDevice(t.db.orm, acme);
    const start = '2026-03-09T07:00:00Z';
    const route = (s: number) => position(at(start, s), 56.2 + s * 0.0002, 10.1);
    // Engine on, then positions in batches of their own while the trip is in progress.
    await upload(t.baseUrl, device, [engine(start, 'running'), route(10)]);
    await upload(t.baseUrl, device, [route(20), route(30)]);
    const stop = await upload(t.baseUrl, device, [route(40), engine(at(start, 60), 'stopped')]);
    assert.deepEqual(stop.body.trips, { started: 0, ended: 1, reopened: 0 });
    const tripOf = async () => (await request<LegacyPage>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: acme.apiToken })).body.results[0]!;
    const km = (...seconds: number[]) =>
      seconds.slice(1).reduce((sum, s, i) => sum + haversineKm({ lat: 56.2 + seconds[i]! * 0.0002, lon: 10.1 }, { lat: 56.2 + s * 0.0002, lon: 10.1 }), 0);
    const ended = await tripOf();
    assert.ok(Math.abs(ended.distance_km - km(10, 20, 30, 40)) < 0.001, `distance ${ended.distance_km}`);

    // A batch held back by the device arrives after the end: its positions belong to the trip.
    const late = await upload(t.baseUrl, device, [route(50), route(55)]);
    assert.deepEqual(late.body.trips, { started: 0, ended: 0, reopened: 0 });
    const refreshed = await tripOf();
    assert.equal(refreshed.id, ended.id);
    assert.ok(Math.abs(refreshed.distance_km - km(10, 20, 30, 40, 50, 55)) < 0.001, `distance ${refreshed.distance_km}`);
    assert.equal(refreshed.end_position_lng, '10.1');
  });

  it('reopens inside the reopen limit, and late old events do not change trips', async () => {
    const device = await createDevice(t.db.orm, acme, { reopenLimitSeconds: 300 });
    const start = '2026-03-07T07:00:00Z';
    await upload(t.baseUrl, device, [engine(start, 'running'), engine(at(start, 60), 'stopped')]);
    const reopen = await upload(t.baseUrl, device, [engine(at(start, 200), 'running'), engine(at(start, 400), 'stopped')]);
    assert.deepEqual(reopen.body.trips, { started: 0, ended: 1, reopened: 1 });
    // An event older than those applied (it arrives days late) is stored but changes nothing.
    const late = await upload(t.baseUrl, device, [engine(at(start, 100), 'running'), rpm(at(start, 101), 900)]);
    assert.deepEqual(late.body.trips, { started: 0, ended: 0, reopened: 0 });
    const fresh = await upload(t.baseUrl, device, [engine(at(start, 1000), 'running')]);
    assert.deepEqual(fresh.body.trips, { started: 1, ended: 0, reopened: 0 });

    const legacy = await request<LegacyPage>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: acme.apiToken });
    assert.deepEqual(
      legacy.body.results.map((x) => [x.start_time_utc, x.end_time_utc, x.state]),
      [
        [at(start, 1000), null, 'in_progress'],
        [at(start, 0), at(start, 400), 'completed'],
      ],
    );
    const ends = ended.filter((e) => e.deviceId === device.id).map((e) => e.endCount);
    assert.deepEqual(ends, [1, 2]);
  });

  it('pages the legacy list newest first with next and previous links', async () => {
    const device = await createDevice(t.db.orm, acme);
    const records = [0, 1, 2, 3, 4].flatMap((h) => [engine(`2026-04-01T0${h}:00:00.000000Z`, 'running'), engine(`2026-04-01T0${h}:10:00.000000Z`, 'stopped')]);
    await upload(t.baseUrl, device, records);
    const page1 = await request<LegacyPage>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}&limit=2`, { token: acme.apiToken });
    assert.equal(page1.body.count, 5);
    assert.deepEqual(
      page1.body.results.map((r) => r.start_time_utc.slice(11, 13)),
      ['04', '03'],
    );
    assert.equal(page1.body.previous, null);
    assert.ok(page1.body.next);
    const page2 = await request<LegacyPage>(t.baseUrl, 'GET', new URL(page1.body.next).pathname + new URL(page1.body.next).search, { token: acme.apiToken });
    assert.deepEqual(
      page2.body.results.map((r) => r.start_time_utc.slice(11, 13)),
      ['02', '01'],
    );
    assert.ok(page2.body.previous);

    const gq1 = await gql(t.baseUrl, TripsDocument, { deviceId: device.id, first: 3 }, acme.apiToken);
    assert.equal(gq1.data?.trips.pageInfo.hasNextPage, true);
    const gq2 = await gql(t.baseUrl, TripsDocument, { deviceId: device.id, first: 3, after: gq1.data?.trips.pageInfo.endCursor }, acme.apiToken);
    assert.deepEqual(
      gq2.data?.trips.edges.map((e) => e.node.startTimeUtc.slice(11, 13)),
      ['01', '00'],
    );
    assert.equal(gq2.data?.trips.pageInfo.hasNextPage, false);
    const window = await gql(t.baseUrl, TripsDocument, { deviceId: device.id, from: '2026-04-01T02:05:00Z', to: '2026-04-01T03:00:00Z' }, acme.apiToken);
    assert.deepEqual(
      window.data?.trips.edges.map((e) => e.node.startTimeUtc.slice(11, 13)),
      ['03', '02'],
    );
  });

  it("never shows one customer's devices or trips to another", async () => {
    const device = await createDevice(t.db.orm, acme);
    await upload(t.baseUrl, device, drive('2026-05-01T10:00:00Z', 20, 5));
    const mine = await request<LegacyPage>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: acme.apiToken });
    const tripId = mine.body.results[0]!.id;

    const restOther = await request<{ detail: string }>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: globex.apiToken });
    assert.equal(restOther.status, 404);
    const allOther = await request<LegacyPage>(t.baseUrl, 'GET', '/logbook/trips/', { token: globex.apiToken });
    assert.equal(allOther.body.count, 0);
    const gqTrips = await gql(t.baseUrl, TripsDocument, { deviceId: device.id }, globex.apiToken);
    assert.equal(gqTrips.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const gqTrip = await gql(t.baseUrl, TripDocument, { id: tripId }, globex.apiToken);
    assert.equal(gqTrip.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const gqAll = await gql(t.baseUrl, TripsDocument, {}, globex.apiToken);
    assert.equal(gqAll.data?.trips.totalCount, 0);
    const unauth = await request(t.baseUrl, 'GET', '/logbook/trips/');
    assert.equal(unauth.status, 401);
  });
});
