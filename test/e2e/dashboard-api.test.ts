import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { compactDevice } from '../../src/modules/ingest/compactor.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { drive, upload } from '../factories/records.js';
import { addSeconds, createTrip } from '../factories/trips.js';
import {
  ApplyTemplateDocument,
  ChangeDeviceSettingsDocument,
  CreateTemplateDocument,
  DashboardTasksDocument,
  DeleteDeviceDocument,
  DeleteTemplateDocument,
  DeviceTripsDocument,
  FleetDocument,
  RenameDeviceDocument,
  RotateDeviceTokenDocument,
  TemplatePageDocument,
  TripTrackDocument,
  UpdateTemplateDocument,
} from '../generated/graphql.js';
import { gql } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const codeOf = (response: { errors?: { extensions?: { code?: string } }[] }): string | undefined => response.errors?.[0]?.extensions?.code;

describe('the GraphQL API a dashboard needs (issue 14, point 4)', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;
  let van: TestDevice;
  let globexVan: TestDevice;
  let exportedTripId: string;

  /** `count` completed trips of the device, an hour apart from 2026-01-01, in one statement. */
  const completedTrips = (device: TestDevice, customer: TestCustomer, count: number) =>
    t.db.pool.query(
      `INSERT INTO trips (id, customer_id, device_id, start_time_utc, end_time_utc, state)
       SELECT gen_random_uuid(), $1, $2, timestamptz '2026-01-01' + n * interval '1 hour', timestamptz '2026-01-01' + n * interval '1 hour' + interval '30 minutes', 'completed'
         FROM generate_series(1, $3::int) n`,
      [customer.customerId, device.id, count],
    );

  before(async () => {
    t = await startTestApp();
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
    van = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    globexVan = await createDevice(t.db.orm, globex);
    // A real trip, uploaded and exported, on the first device.
    assert.equal((await upload(t.baseUrl, van, drive('2026-06-01T07:00:00Z', 60, 1))).status, 200);
    const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM trips WHERE device_id = $1', [van.id]);
    exportedTripId = rows[0]!.id;
    await waitFor(async () => (await t.db.pool.query("SELECT 1 FROM tasks WHERE trip_id = $1 AND state = 'SUCCESS'", [exportedTripId])).rowCount, 'the export to succeed', 30_000);
  });
  after(() => t.close());

  it('lists the fleet as a connection: last seen, latest trip and its export state; only the caller’s devices', async () => {
    const idle = await createDevice(t.db.orm, acme);
    const page1 = await gql(t.baseUrl, FleetDocument, { first: 1 }, acme.apiToken);
    assert.equal(page1.errors, undefined);
    const fleet = page1.data!.deviceConnection;
    assert.equal(fleet.totalCount, 2, 'not Globex’s device');
    assert.equal(fleet.pageInfo.hasNextPage, true);
    const first = fleet.edges[0]!.node;
    assert.equal(first.id, van.id, 'oldest first');
    assert.ok(first.lastSeenAt && Date.parse(first.lastSeenAt) > Date.now() - 600_000, 'last seen: when its batch arrived');
    assert.equal(first.latestTrip?.id, exportedTripId);
    assert.equal(first.latestTrip?.task?.state, 'SUCCESS');
    const page2 = await gql(t.baseUrl, FleetDocument, { first: 1, after: fleet.pageInfo.endCursor }, acme.apiToken);
    const second = page2.data!.deviceConnection.edges[0]!.node;
    assert.equal(second.id, idle.id);
    assert.equal(second.lastSeenAt, null, 'never uploaded');
    assert.equal(second.latestTrip, null);
    assert.equal(page2.data!.deviceConnection.pageInfo.hasNextPage, false);
    assert.equal((await gql(t.baseUrl, FleetDocument, {}, globex.apiToken)).data!.deviceConnection.totalCount, 1);
    assert.equal(codeOf(await gql(t.baseUrl, FleetDocument, { after: 'not-a-cursor' }, acme.apiToken)), 'BAD_USER_INPUT');
  });

  it('pages a device’s trips, filtered by time and state; another customer’s device is NOT_FOUND', async () => {
    const fleetVan = await createDevice(t.db.orm, acme);
    await completedTrips(fleetVan, acme, 30);
    await createTrip(t.db.orm, acme, fleetVan, '2026-02-01T00:00:00.000000Z');
    const all = await gql(t.baseUrl, DeviceTripsDocument, { id: fleetVan.id, first: 20 }, acme.apiToken);
    const trips = all.data!.device.trips;
    assert.equal(trips.totalCount, 31);
    assert.equal(trips.edges.length, 20);
    assert.equal(trips.edges[0]!.node.state, 'IN_PROGRESS', 'newest first');
    const rest = await gql(t.baseUrl, DeviceTripsDocument, { id: fleetVan.id, first: 20, after: trips.pageInfo.endCursor }, acme.apiToken);
    assert.equal(rest.data!.device.trips.edges.length, 11);
    assert.equal(new Set([...trips.edges, ...rest.data!.device.trips.edges].map((e) => e.node.id)).size, 31);
    const completed = await gql(t.baseUrl, DeviceTripsDocument, { id: fleetVan.id, state: 'COMPLETED' }, acme.apiToken);
    assert.equal(completed.data!.device.trips.totalCount, 30);
    // Trips n = 5..10 start at 05:00..10:00 and end half an hour later.
    const window = await gql(t.baseUrl, DeviceTripsDocument, { id: fleetVan.id, from: '2026-01-01T05:00:00Z', to: '2026-01-01T10:00:00Z' }, acme.apiToken);
    assert.equal(window.data!.device.trips.totalCount, 6);
    assert.equal(codeOf(await gql(t.baseUrl, DeviceTripsDocument, { id: globexVan.id }, acme.apiToken)), 'NOT_FOUND');
  });

  it('draws a trip’s track: at most maxPoints positions in time order, first and last kept, thinned in SQL', async () => {
    const track = await gql(t.baseUrl, TripTrackDocument, { id: exportedTripId, maxPoints: 10 }, acme.apiToken);
    assert.equal(track.errors, undefined);
    const { positionCount, every, points } = track.data!.trip.track;
    assert.equal(positionCount, 59, 'drive() logs a position every second but the first and last');
    assert.ok(points.length <= 10 && points.length >= 9, `${points.length} points`);
    assert.equal(every, Math.ceil(59 / 9));
    assert.deepEqual(
      points.map((p) => p.ts),
      points.map((p) => p.ts).sort(),
    );
    assert.equal(points[0]!.ts, addSeconds('2026-06-01T07:00:00Z', 1));
    assert.equal(points.at(-1)!.ts, addSeconds('2026-06-01T07:00:00Z', 59));
    assert.ok(Math.abs(points[0]!.lat - 56.1001) < 1e-9);
    const whole = await gql(t.baseUrl, TripTrackDocument, { id: exportedTripId }, acme.apiToken);
    assert.equal(whole.data!.trip.track.points.length, 59, 'all of them when they fit');
    assert.equal(codeOf(await gql(t.baseUrl, TripTrackDocument, { id: exportedTripId, maxPoints: 2001 }, acme.apiToken)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await gql(t.baseUrl, TripTrackDocument, { id: exportedTripId }, globex.apiToken)), 'NOT_FOUND');
  });

  it('thins a 1,000,000-position trip to 2,000 points', async () => {
    const long = await createDevice(t.db.orm, acme);
    const trip = await createTrip(t.db.orm, acme, long, '2026-03-01T00:00:00.000000Z');
    await t.db.pool.query("SELECT ensure_records_partition('2026-03-01')");
    await t.db.pool.query(
      `INSERT INTO records (device_id, ts, line, lat, lon)
       SELECT $1, timestamptz '2026-03-01' + n * interval '1 second', '{}', 55 + n * 1e-6, 10 FROM generate_series(0, 999999) n`,
      [long.id],
    );
    const started = performance.now();
    const track = await gql(t.baseUrl, TripTrackDocument, { id: trip.id, maxPoints: 2000 }, acme.apiToken);
    const ms = Math.round(performance.now() - started);
    assert.equal(track.errors, undefined);
    const { positionCount, points } = track.data!.trip.track;
    assert.equal(positionCount, 1_000_000);
    assert.ok(points.length <= 2000 && points.length > 1990, `${points.length} points`);
    assert.equal(points.at(-1)!.ts, addSeconds('2026-03-01T00:00:00Z', 999_999));
    console.log(`track of 1,000,000 positions thinned to 2,000 in ${ms} ms`);
  });

  it('filters tasks by device, state and time, and gives a signed download link a browser can follow', async () => {
    const tasks = await gql(t.baseUrl, DashboardTasksDocument, { deviceId: van.id, state: 'SUCCESS' }, acme.apiToken);
    assert.equal(tasks.data!.tasks.totalCount, 1);
    const task = tasks.data!.tasks.edges[0]!.node;
    assert.match(task.downloadUrl!, /\/tasks\/\d+\/result\/\?expires=\d+&signature=[\w-]+$/);
    const download = await fetch(task.downloadUrl!.replace(t.config.publicUrl, t.baseUrl));
    assert.equal(download.status, 200, 'no credentials but the link');
    assert.match(gunzipSync(Buffer.from(await download.arrayBuffer())).toString('utf8'), new RegExp(exportedTripId));
    assert.equal((await gql(t.baseUrl, DashboardTasksDocument, { deviceId: van.id, state: 'FAILURE' }, acme.apiToken)).data!.tasks.totalCount, 0);
    assert.equal((await gql(t.baseUrl, DashboardTasksDocument, { from: '2099-01-01T00:00:00Z' }, acme.apiToken)).data!.tasks.totalCount, 0);
    assert.equal((await gql(t.baseUrl, DashboardTasksDocument, { to: '2099-01-01T00:00:00Z' }, acme.apiToken)).data!.tasks.totalCount, 1);
    assert.equal(codeOf(await gql(t.baseUrl, DashboardTasksDocument, { deviceId: globexVan.id }, acme.apiToken)), 'NOT_FOUND');
  });

  it('renames a device and rotates its upload token: the old token stops at once, the new one uploads', async () => {
    const renamed = await gql(t.baseUrl, RenameDeviceDocument, { id: van.id, name: '  Van 7 ' }, acme.apiToken);
    assert.equal(renamed.data!.renameDevice.name, 'Van 7');
    assert.equal(codeOf(await gql(t.baseUrl, RenameDeviceDocument, { id: globexVan.id, name: 'mine' }, acme.apiToken)), 'NOT_FOUND');
    const rotated = await gql(t.baseUrl, RotateDeviceTokenDocument, { id: van.id }, acme.apiToken);
    const { uploadToken } = rotated.data!.rotateDeviceToken;
    assert.notEqual(uploadToken, van.uploadToken);
    const batch = drive('2026-06-02T07:00:00Z', 5, 1);
    assert.equal((await upload(t.baseUrl, van, batch)).status, 401, 'the old token');
    assert.equal((await upload(t.baseUrl, van, batch, { token: uploadToken })).status, 200, 'the new token');
    assert.equal(codeOf(await gql(t.baseUrl, RotateDeviceTokenDocument, { id: globexVan.id }, acme.apiToken)), 'NOT_FOUND');
    van = { ...van, uploadToken };
  });

  it('clears a device override with null, updates and deletes templates; devices fall back to defaults and own values', async () => {
    const device = await createDevice(t.db.orm, acme, { reopenLimitSeconds: 42 });
    const created = await gql(t.baseUrl, CreateTemplateDocument, { input: { name: 'Night', settings: { reopenLimitSeconds: 300, autoExport: true } } }, acme.apiToken);
    const templateId = created.data!.createTemplate.id;
    await gql(t.baseUrl, ApplyTemplateDocument, { templateId, deviceIds: [device.id] }, acme.apiToken);
    const cleared = await gql(t.baseUrl, ChangeDeviceSettingsDocument, { deviceId: device.id, settings: { reopenLimitSeconds: null } }, acme.apiToken);
    assert.equal(cleared.data!.updateDeviceSettings.ownSettings.reopenLimitSeconds, null);
    assert.equal(cleared.data!.updateDeviceSettings.settings.reopenLimitSeconds, 300, 'the template’s value applies again');
    const kept = await gql(t.baseUrl, ChangeDeviceSettingsDocument, { deviceId: device.id, settings: { autoExport: false } }, acme.apiToken);
    assert.equal(kept.data!.updateDeviceSettings.settings.reopenLimitSeconds, 300, 'a field left out stays');

    const updated = await gql(t.baseUrl, UpdateTemplateDocument, { id: templateId, input: { name: 'Late night', settings: { reopenLimitSeconds: 900 } } }, acme.apiToken);
    assert.deepEqual(updated.data!.updateTemplate, { id: templateId, name: 'Late night', settings: { reopenLimitSeconds: 900 } });
    assert.equal(codeOf(await gql(t.baseUrl, UpdateTemplateDocument, { id: templateId, input: { settings: { reopenLimitSeconds: -1 } } }, acme.apiToken)), 'BAD_USER_INPUT');
    const page = await gql(t.baseUrl, TemplatePageDocument, { first: 10 }, acme.apiToken);
    assert.deepEqual(
      page.data!.templateConnection.edges.map((e) => e.node.name),
      ['Late night'],
    );
    assert.equal(codeOf(await gql(t.baseUrl, DeleteTemplateDocument, { id: templateId }, globex.apiToken)), 'NOT_FOUND');
    assert.equal((await gql(t.baseUrl, DeleteTemplateDocument, { id: templateId }, acme.apiToken)).data!.deleteTemplate, templateId);
    const after = await gql(t.baseUrl, ChangeDeviceSettingsDocument, { deviceId: device.id, settings: {} }, acme.apiToken);
    assert.equal(after.data!.updateDeviceSettings.settings.reopenLimitSeconds, 600, 'the default');
    assert.equal(after.data!.updateDeviceSettings.settings.autoExport, false, 'its own value');
  });

  it('deletes a device with its records, trips, tasks and export files; other devices untouched', async () => {
    const other = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    assert.equal((await upload(t.baseUrl, other, drive('2026-06-03T07:00:00Z', 5, 1))).status, 200);
    const count = async (sql: string, id: string): Promise<number> => Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, [id])).rows[0]!.n);
    const snapshot = async (id: string) => [
      await count('records WHERE device_id = $1', id),
      await count('trips WHERE device_id = $1', id),
      await count('ingest_batches WHERE device_id = $1', id),
    ];
    const otherBefore = await snapshot(other.id);
    assert.ok(otherBefore.every((n) => n > 0));
    const folder = path.join(t.config.exportDir, exportedTripId);
    assert.ok(existsSync(folder), 'the export file exists before');

    // Part of its records compacted into segments: they go with the device too.
    const lastTs = (await t.db.pool.query<{ ts: string }>('SELECT max(ts)::text AS ts FROM records WHERE device_id = $1', [van.id])).rows[0]!.ts;
    await compactDevice(t.db.pool, van.id, lastTs, { maxRecordsPerSegment: 1000, maxSegments: 10 });
    assert.ok((await count('record_segments WHERE device_id = $1', van.id)) > 0);

    assert.equal(codeOf(await gql(t.baseUrl, DeleteDeviceDocument, { id: van.id }, globex.apiToken)), 'NOT_FOUND', 'not by another customer');
    const deleted = await gql(t.baseUrl, DeleteDeviceDocument, { id: van.id }, acme.apiToken);
    assert.equal(deleted.errors, undefined, JSON.stringify(deleted.errors));
    assert.equal(deleted.data!.deleteDevice, van.id);
    assert.deepEqual(await snapshot(van.id), [0, 0, 0]);
    assert.equal(await count('tasks WHERE device_id = $1', van.id), 0);
    assert.equal(await count('record_segments WHERE device_id = $1', van.id), 0);
    assert.equal(await count('devices WHERE id = $1', van.id), 0);
    assert.equal(existsSync(folder), false, 'the export files are gone');
    assert.deepEqual(await snapshot(other.id), otherBefore);
    assert.equal((await upload(t.baseUrl, van, drive('2026-06-04T07:00:00Z', 5, 1))).status, 401, 'its token is gone with it');
    assert.equal(codeOf(await gql(t.baseUrl, DeleteDeviceDocument, { id: van.id }, acme.apiToken)), 'NOT_FOUND');
  });

  it('keeps every connection bounded by the cost limit', async () => {
    const tooMuch = '{ trips(first: 50) { edges { node { track(maxPoints: 1000) { points { lat } } } } } }';
    assert.equal(codeOf(await gql(t.baseUrl, tooMuch, {}, acme.apiToken)), 'QUERY_TOO_COSTLY');
    const nested = '{ deviceConnection(first: 50) { edges { node { trips(first: 50) { edges { node { id startTimeUtc } } } } } } }';
    assert.equal(codeOf(await gql(t.baseUrl, nested, {}, acme.apiToken)), 'QUERY_TOO_COSTLY');
    assert.equal(codeOf(await gql(t.baseUrl, '{ triggerConnection(first: 201) { totalCount } }', {}, acme.apiToken)), 'BAD_USER_INPUT');
    const old = await gql<{ devices: unknown[]; templates: unknown[]; triggers: unknown[]; deliveries: unknown[] }>(
      t.baseUrl,
      '{ devices { id } templates { id } triggers { id } deliveries(first: 5, offset: 0) { id } }',
      {},
      acme.apiToken,
    );
    assert.equal(old.errors, undefined, 'the deprecated lists still answer');
  });
});
