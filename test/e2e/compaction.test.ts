import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { isoToMicros, microsToIso } from '../../src/lib/time.js';
import { compactDue, LOCK_SPACE } from '../../src/modules/ingest/compaction.js';
import { compactDevice } from '../../src/modules/ingest/compactor.js';
import { dropExpiredRecords } from '../../src/modules/ingest/retention.js';
import { expandSegments } from '../../src/modules/ingest/segment-expand.js';
import { mergeLateRows } from '../../src/modules/ingest/segment-merge.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { at, type DeviceRecord, drive, engine, position, rpm, upload } from '../factories/records.js';
import { TripTrackDocument } from '../generated/graphql.js';
import { startCli } from '../support/cli.js';
import { downloadResult, waitForTask } from '../support/exports.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

interface TripJson {
  id: string;
  start_time_utc: string;
  end_time_utc: string | null;
  distance_km: number;
  device: string;
  vehicle: number;
  unit_id: string;
  [field: string]: unknown;
}

/** Everything but what names the trip and the device: times, duration, distance, start and end positions. */
const strip = ({ id: _id, device: _device, vehicle: _vehicle, unit_id: _unit, ...stats }: TripJson) => stats;

/** A row of `records` as the export reads it: time in µs, line, position. */
interface Row {
  us: string;
  line: string;
  lat: number | null;
  lon: number | null;
}

/** `(ts, line)` with lines compared as bytes: the order of a device's lines everywhere. */
const byTimeAndLine = (a: Row, b: Row): number => {
  const d = BigInt(a.us) - BigInt(b.us);
  return d < 0n ? -1 : d > 0n ? 1 : Buffer.compare(Buffer.from(a.line), Buffer.from(b.line));
};

/** The rows `after` holds beyond `before` (a multiset difference: duplicates count). */
function added(before: readonly Row[], after: readonly Row[]): Row[] {
  const seen = new Map<string, number>();
  for (const r of before) seen.set(JSON.stringify(r), (seen.get(JSON.stringify(r)) ?? 0) + 1);
  return after.filter((r) => {
    const n = seen.get(JSON.stringify(r)) ?? 0;
    if (n) seen.set(JSON.stringify(r), n - 1);
    return n === 0;
  });
}

/** A second-aligned time `days` before now: inside the trusted range, outside or inside the closing window as a test needs. */
const daysAgo = (days: number): string => microsToIso(BigInt(Math.floor(Date.now() / 1000 - days * 86400)) * 1_000_000n);

/**
 * Compressed record segments (issue 16, points 1, 3, 4, 6): the compactor job, late data merged
 * into compacted time, trips/tracks/exports/retention on compacted data, and the way back.
 * The job runs in the app (every second) on records older than 90 days; the other tests compact
 * their own device directly with the functions the job runs, on data younger than that.
 */
describe('compressed record segments', () => {
  let t: TestApp;
  let acme: TestCustomer;

  before(async () => {
    t = await startTestApp({ COMPACT_ENABLED: 'true', COMPACT_EVERY_SECONDS: '1', COMPACT_AFTER_SECONDS: String(90 * 86400) });
    acme = await createCustomer(t.db.orm, t.config);
  });
  after(async () => {
    await t.close();
  });

  /** The device's rows as the row-based export path reads them. */
  const rowsOf = async (deviceId: string) =>
    (
      await t.db.pool.query<Row>(`select (extract(epoch from ts) * 1000000)::bigint::text as us, line, lat, lon from records where device_id = $1 order by ts, line collate "C"`, [
        deviceId,
      ])
    ).rows;
  const segmentCount = async (deviceId: string) =>
    Number((await t.db.pool.query<{ n: string }>('select count(*) as n from record_segments where device_id = $1', [deviceId])).rows[0]!.n);
  const compact = (deviceId: string) => compactDevice(t.db.pool, deviceId, new Date().toISOString(), { maxRecordsPerSegment: 40, maxSegments: 1000 });
  const merge = (deviceId: string) => mergeLateRows(t.db.pool, deviceId, { maxRecordsPerSegment: 40, maxSegments: 1000, maxRows: 100_000 });
  /** Runs `fn` holding the device the way a compactor run does: the others skip it meanwhile. */
  async function holding<T>(deviceId: string, fn: () => Promise<T>): Promise<T> {
    const lock = await t.db.pool.connect();
    try {
      await lock.query('select pg_advisory_lock($1, hashtext($2))', [LOCK_SPACE, deviceId]);
      try {
        return await fn();
      } finally {
        await lock.query('select pg_advisory_unlock($1, hashtext($2))', [LOCK_SPACE, deviceId]);
      }
    } finally {
      lock.release();
    }
  }
  const tripsOf = async (device: TestDevice) =>
    (await request<{ results: TripJson[] }>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: acme.apiToken })).body.results;
  const trackOf = async (tripId: string, maxPoints?: number) => (await gql(t.baseUrl, TripTrackDocument, { id: tripId, maxPoints }, acme.apiToken)).data!.trip.track;
  const exportNow = async (tripId: string, runs: number) => {
    const body = { task: 'core.tasks.es_trip_export', args: [], kwargs: { trip_id: tripId } };
    assert.ok([200, 201].includes((await request(t.baseUrl, 'POST', '/tasks/', { token: acme.apiToken, body })).status));
    const task = await waitForTask(t.db.pool, tripId, 'SUCCESS', runs);
    return (await downloadResult(t.baseUrl, task.id, acme.apiToken)).lines;
  };

  it('late records uploaded into compacted time are merged into their segment in (ts, line) order: export, rows and track equal the row-based truth', async () => {
    const start = daysAgo(3);
    const device = await createDevice(t.db.orm, acme, { autoExport: false });
    // A duplicate and records sharing a time with others, so equal times are ordered by line.
    const records = drive(start, 120);
    records.push(rpm(at(start, 10), 1), rpm(at(start, 10), 1), rpm(at(start, 10.000123), 2));
    assert.equal((await upload(t.baseUrl, device, records)).status, 200);
    const [trip] = await tripsOf(device);
    const original = await rowsOf(device.id);
    const exported = await exportNow(trip!.id, 1);
    const track = await trackOf(trip!.id, 10);

    const compacted = await compact(device.id);
    assert.equal(compacted.records, original.length);
    assert.deepEqual(await rowsOf(device.id), [], 'every row is in a segment');
    assert.ok((await segmentCount(device.id)) > 3, 'several segments');
    assert.deepEqual(await trackOf(trip!.id, 10), track, 'the track reads the segments');
    assert.deepEqual(await tripsOf(device), [trip], 'the trip is unchanged');

    // Late records: inside a segment, between segments (duplicates of stored ones), before the first.
    const late: DeviceRecord[] = [rpm(at(start, 30.5), 4321), position(at(start, 61.25), 57, 11), rpm(at(start, 10), 1), rpm(at(start, -5), 7)];
    assert.equal((await upload(t.baseUrl, device, late)).status, 200);
    const lateRows = await rowsOf(device.id);
    assert.equal(lateRows.length, late.length);
    const truth = [...original, ...lateRows].sort(byTimeAndLine);
    // The upload's late position refreshed the trip's statistics from rows and segments.
    const stats = (await tripsOf(device))[0]!;
    assert.ok(stats.distance_km > trip!.distance_km, 'the late position adds distance');

    // Exported now: segments copied, late rows merged in at export; then again once merged.
    const whileLate = await exportNow(trip!.id, 2);
    const merged = await merge(device.id);
    assert.equal(merged.records, late.length);
    assert.deepEqual(await rowsOf(device.id), [], 'the late rows went into segments');
    const lateTrack = await trackOf(trip!.id, 2000);
    assert.equal(lateTrack.positionCount, track.positionCount + 1);
    assert.ok(lateTrack.points.some((p) => p.lat === 57 && p.lon === 11));
    assert.deepEqual(await exportNow(trip!.id, 3), whileLate, 'the export reads the rebuilt segment as it read the late rows');

    // The way back: exactly the rows there were, and the export a row-based service writes.
    const expanded = await expandSegments(t.db.pool, { deviceId: device.id });
    assert.equal(expanded.records, truth.length);
    assert.equal(await segmentCount(device.id), 0);
    assert.deepEqual(await rowsOf(device.id), truth);
    const after = await exportNow(trip!.id, 4);
    assert.equal(after.length, exported.length + 3, 'the late records inside the trip (the one before it is not)');
    const { rows: inTrip } = await t.db.pool.query<{ line: string }>(`select line from records where device_id = $1 and ts between $2 and $3 order by ts, line collate "C"`, [
      device.id,
      trip!.start_time_utc,
      trip!.end_time_utc,
    ]);
    assert.deepEqual(
      after.slice(1),
      inTrip.map((r) => r.line),
    );
    assert.deepEqual((await tripsOf(device))[0], stats, 'statistics from rows equal those from segments');
  });

  it('random late batches into compacted time, merged or not: every export and the expanded rows equal the row-based truth', async () => {
    const start = daysAgo(2);
    const device = await createDevice(t.db.orm, acme, { autoExport: false });
    assert.equal((await upload(t.baseUrl, device, drive(start, 200))).status, 200);
    const [trip] = await tripsOf(device);
    const from = BigInt(isoToMicros(trip!.start_time_utc)!);
    const to = BigInt(isoToMicros(trip!.end_time_utc!)!);
    let truth = await rowsOf(device.id);
    await compact(device.id);
    let runs = 0;
    for (let round = 0; round < 4; round++) {
      // Around and inside the trip, some at the exact time of a stored record, some twice in a batch.
      const batch: DeviceRecord[] = [];
      for (let i = 0; i < 15; i++) {
        const seconds = i % 3 === 0 ? Math.floor(Math.random() * 200) : -20 + Math.random() * 240;
        const record = i % 4 === 0 ? position(at(start, seconds), 56 + Math.random(), 10 + Math.random()) : rpm(at(start, seconds), Math.floor(Math.random() * 5000));
        batch.push(record);
        if (i % 5 === 0) batch.push(record);
      }
      const before = await rowsOf(device.id);
      assert.equal((await upload(t.baseUrl, device, batch)).status, 200);
      truth = [...truth, ...added(before, await rowsOf(device.id))].sort(byTimeAndLine);
      if (round % 2 === 1) await merge(device.id);
      const expected = truth.filter((r) => BigInt(r.us) >= from && BigInt(r.us) <= to).map((r) => r.line);
      assert.deepEqual((await exportNow(trip!.id, ++runs)).slice(1), expected, `round ${round}`);
    }
    // Late rows go into their segments; those after the last segment are new rows, compacted as such.
    await merge(device.id);
    await compact(device.id);
    assert.deepEqual(await rowsOf(device.id), []);
    await expandSegments(t.db.pool, { deviceId: device.id });
    assert.deepEqual(await rowsOf(device.id), truth);
  });

  it('statistics and track on compacted data equal those of a twin device that was never compacted', async () => {
    const start = daysAgo(4);
    const compacted = await createDevice(t.db.orm, acme, { autoExport: false });
    const twin = await createDevice(t.db.orm, acme, { autoExport: false });
    const records = drive(start, 300);
    // Uploaded open (no end yet), compacted, then ended: the end reads the positions from segments.
    const end = records.pop()!;
    for (const device of [compacted, twin]) assert.equal((await upload(t.baseUrl, device, records)).status, 200);
    await compact(compacted.id);
    for (const device of [compacted, twin]) assert.equal((await upload(t.baseUrl, device, [end])).status, 200);
    const [a] = await tripsOf(compacted);
    const [b] = await tripsOf(twin);
    assert.ok(a!.distance_km > 0);
    assert.deepEqual(strip(a!), strip(b!));
    assert.deepEqual(await trackOf(a!.id, 50), await trackOf(b!.id, 50));
  });

  it('a late engine event in compacted time is stored and exported but cuts no trip, as without compaction', async () => {
    const start = daysAgo(5);
    const device = await createDevice(t.db.orm, acme, { autoExport: false, reopenLimitSeconds: 1 });
    assert.equal((await upload(t.baseUrl, device, [...drive(start, 60), ...drive(at(start, 600), 60)])).status, 200);
    const trips = await tripsOf(device);
    assert.equal(trips.length, 2);
    await compact(device.id);
    // Older than the device's newest event: stored, merged, no trip change (the rule without compaction too).
    const answer = await upload(t.baseUrl, device, [engine(at(start, 300), 'running'), engine(at(start, 330), 'stopped')]);
    assert.deepEqual(answer.body.trips, { started: 0, ended: 0, reopened: 0 });
    assert.deepEqual(await tripsOf(device), trips);
    assert.equal((await merge(device.id)).records, 2);
    // The way back as an operator runs it.
    const cli = await startCli('admin', ['expand-segments', '--device', device.id], { DATABASE_URL: t.db.url }).exited;
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as { records: number }).records, 2 + 2 * 2 * 59 + 4);
    const lines = (await rowsOf(device.id)).map((r) => r.line);
    assert.ok(lines.some((l) => l.includes('"@ts":"' + at(start, 300))));
  });

  it('an engine event newer than the last one but inside compacted time starts a trip there, with statistics read from the segments, as on a twin never compacted', async () => {
    const start = daysAgo(6);
    const compacted = await createDevice(t.db.orm, acme, { autoExport: false, reopenLimitSeconds: 1 });
    const twin = await createDevice(t.db.orm, acme, { autoExport: false, reopenLimitSeconds: 1 });
    // A drive, then positions without engine events (the engine event that started them arrives late).
    const later = drive(at(start, 100), 120).slice(1, -1);
    for (const device of [compacted, twin]) assert.equal((await upload(t.baseUrl, device, [...drive(start, 60), ...later])).status, 200);
    await compact(compacted.id);
    for (const device of [compacted, twin]) {
      const answer = await upload(t.baseUrl, device, [engine(at(start, 100), 'running'), engine(at(start, 220), 'stopped')]);
      assert.deepEqual(answer.body.trips, { started: 1, ended: 1, reopened: 0 });
    }
    const [a, b] = [await tripsOf(compacted), await tripsOf(twin)];
    assert.equal(a.length, 2);
    assert.ok(a[0]!.distance_km > 0, 'the new trip has the compacted positions');
    assert.deepEqual(a.map(strip), b.map(strip));
    assert.deepEqual(await trackOf(a[0]!.id, 30), await trackOf(b[0]!.id, 30));
  });

  it('a trip left open too long ends where its data stops, found in the segments (also inside the one holding the new start)', async () => {
    const start = daysAgo(7);
    const settings = { autoExport: false, activeTripMaxAgeSeconds: 600 };
    const compacted = await createDevice(t.db.orm, acme, settings);
    const twin = await createDevice(t.db.orm, acme, settings);
    // Never ended; later data without events around the time the next trip starts.
    const records = [...drive(start, 300).slice(0, -1), ...drive(at(start, 1500), 1000).slice(1, -1)];
    for (const device of [compacted, twin]) assert.equal((await upload(t.baseUrl, device, records)).status, 200);
    await compact(compacted.id);
    const holding = await t.db.pool.query('select 1 from record_segments where device_id = $1 and first_ts < $2 and last_ts > $2', [compacted.id, at(start, 2000.5)]);
    assert.equal(holding.rowCount, 1, 'a segment holds the time of the new start');
    for (const device of [compacted, twin]) {
      const answer = await upload(t.baseUrl, device, [engine(at(start, 2000.5), 'running')]);
      assert.deepEqual(answer.body.trips, { started: 1, ended: 1, reopened: 0 });
    }
    const [a, b] = [await tripsOf(compacted), await tripsOf(twin)];
    assert.equal(a[1]!.end_time_utc, at(start, 2000.000123), 'the last record before the new start');
    assert.deepEqual(a.map(strip), b.map(strip));
  });

  it('the job compacts existing data in the background while uploads go on; retention drops whole segments; device deletion takes its segments', async () => {
    const start = daysAgo(200);
    const device = await createDevice(t.db.orm, acme, { autoExport: false });
    const settings = { afterSeconds: 90 * 86400, maxRecordsPerRun: 1_000_000, maxDevicesPerRun: 100, budgetMs: 10_000 };
    // Batches in shuffled order (so many land inside time already compacted) go on while the
    // job (every second) and this test's own compactor runs (a second instance) compact and merge.
    const order = Array.from({ length: 30 }, (_, i) => i).sort(() => Math.random() - 0.5);
    const uploaded: DeviceRecord[] = [];
    let uploading = true;
    let runs = 0;
    await Promise.all([
      (async () => {
        for (const [n, i] of order.entries()) {
          const batch = drive(at(start, i * 100), 40);
          uploaded.push(...batch);
          assert.equal((await upload(t.baseUrl, device, batch)).status, 200);
          if (n === 5) await waitFor(async () => (await segmentCount(device.id)) > 0, 'a first compaction', 20_000);
        }
        uploading = false;
      })(),
      (async () => {
        while (uploading) {
          await compactDue(t.db.pool, settings);
          runs++;
        }
      })(),
    ]);
    assert.ok(runs > 1);
    await waitFor(async () => (await rowsOf(device.id)).length === 0, 'every row compacted', 30_000);
    const stored = Number((await t.db.pool.query<{ n: string }>('select sum(record_count) as n from record_segments where device_id = $1', [device.id])).rows[0]!.n);
    assert.equal(stored, uploaded.length, 'as many records as uploaded');
    const overlaps = await t.db.pool.query(
      `select 1 from record_segments a join record_segments b on a.device_id = b.device_id and a.id < b.id
        where a.device_id = $1 and a.first_ts <= b.last_ts and b.first_ts <= a.last_ts`,
      [device.id],
    );
    assert.equal(overlaps.rowCount, 0, 'segments never overlap');
    // Expanded and read while holding the device as the compactor does, so the job leaves the rows alone.
    const times = await holding(device.id, async () => {
      await expandSegments(t.db.pool, { deviceId: device.id });
      return (await rowsOf(device.id)).map((r) => (JSON.parse(r.line) as DeviceRecord)['@ts']);
    });
    assert.deepEqual(times, uploaded.map((r) => r['@ts']).sort(), 'each record exactly once, in order');
    await compact(device.id);

    // A second instance finds a device held by another and skips it; once free, it is compacted.
    const held = await createDevice(t.db.orm, acme, { autoExport: false });
    await holding(held.id, async () => {
      assert.equal((await upload(t.baseUrl, held, drive(at(start, 5000), 20))).status, 200);
      const run = await compactDue(t.db.pool, settings);
      assert.ok(run.skipped >= 1);
      assert.equal((await rowsOf(held.id)).length, 40, 'the held device keeps its rows');
    });
    await waitFor(async () => (await rowsOf(held.id)).length === 0, 'the held device compacted once free', 30_000);
    // Only the job compacts from here on (this test's runs have ended): its work shows in /metrics.
    await waitFor(async () => /trip_export_records_compacted_total\{kind="new"\} [1-9]/.test(await (await fetch(`${t.baseUrl}/metrics`)).text()), 'the job counted');

    // Retention at 100 days: the device's segments are 200 days old.
    const outcome = await dropExpiredRecords(t.db.pool, 100);
    assert.ok(outcome.deletedSegments > 0);
    assert.equal(await segmentCount(device.id), 0);

    const other = await createDevice(t.db.orm, acme, { autoExport: false });
    assert.equal((await upload(t.baseUrl, other, drive(daysAgo(6), 30))).status, 200);
    await compact(other.id);
    assert.ok((await segmentCount(other.id)) > 0);
    const deleted = await gql(t.baseUrl, 'mutation($id: ID!) { deleteDevice(id: $id) }', { id: other.id }, acme.apiToken);
    assert.equal(deleted.errors, undefined);
    assert.equal(await segmentCount(other.id), 0);
  });
});
