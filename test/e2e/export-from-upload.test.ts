import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { at, type DeviceRecord, drive, rpm, upload } from '../factories/records.js';
import { downloadResult } from '../support/exports.js';
import { request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

interface LegacyTask {
  id: number;
  kwargs: { trip_id: string };
  state: string;
}

const byTs = (a: DeviceRecord, b: DeviceRecord): number => (a['@ts'] < b['@ts'] ? -1 : a['@ts'] > b['@ts'] ? 1 : 0);

describe('from device upload to downloaded export, as the spec tells a script to do it', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let device: TestDevice;

  before(async () => {
    t = await startTestApp();
    acme = await createCustomer(t.db.orm, t.config);
    device = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
  });
  after(() => t.close());

  it('exports every uploaded record of the trip once, in order, as stored; nothing from outside it', async () => {
    const start = '2026-06-01T07:00:00.250000Z';
    const trip = drive(start, 90, 1);
    const before = [rpm(at(start, -20), 700), rpm(at(start, -0.000001), 710)];
    const late = [rpm(at(start, 30.5), 1234), rpm(at(start, 60.5), 1500)];
    const afterEnd = [rpm(at(start, 90.000001), 650), rpm(at(start, 120), 640)];
    const firstHalf = trip.slice(0, 90);
    const secondHalf = trip.slice(90);

    assert.equal((await upload(t.baseUrl, device, before)).status, 200);
    assert.equal((await upload(t.baseUrl, device, firstHalf)).status, 200);
    const repeat = await upload(t.baseUrl, device, firstHalf, { gzip: true });
    assert.equal(repeat.status, 200, 'the device retries a batch whose answer it missed');
    assert.equal((await upload(t.baseUrl, device, firstHalf)).body.duplicate, true);
    const ending = await upload(t.baseUrl, device, secondHalf);
    assert.deepEqual(ending.body.trips, { started: 0, ended: 1, reopened: 0 });
    // Data from inside the trip arriving after its end, and data after the end.
    assert.equal((await upload(t.baseUrl, device, [...late, ...afterEnd], { jsonLines: true })).status, 200);

    // A legacy script: list tasks until the trip's task is SUCCESS, download, check, clear.
    const trips = await request<{ results: Record<string, unknown>[] }>(t.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token: acme.apiToken });
    const legacyTrip = trips.body.results[0]!;
    const task = await waitFor(
      async () => {
        const tasks = await request<LegacyTask[]>(t.baseUrl, 'GET', '/tasks/', { token: acme.apiToken });
        return tasks.body.find((x) => x.kwargs.trip_id === legacyTrip.id && x.state === 'SUCCESS');
      },
      'the export task to succeed',
      20_000,
    );

    const { response, lines } = await downloadResult(t.baseUrl, task.id, acme.apiToken);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-disposition'), `attachment; filename="${String(legacyTrip.id)}.json.gz"`);
    assert.deepEqual(JSON.parse(lines[0]!), legacyTrip, 'line 1 is the trip object of logbook/trips/');

    const expected = [...trip, ...late].sort(byTs);
    const exported = lines.slice(1).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(exported.length, expected.length, 'each record once: the repeated batch is not doubled');
    exported.forEach((record, i) => {
      assert.match(String(record['@rec']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.deepEqual(record, { ...expected[i], '@uid': device.unitId, '@vid': device.vehicleId, '@rec': record['@rec'] }, `line ${i + 2}`);
    });
    const outside = new Set([...before, ...afterEnd].map((r) => r['@ts']));
    assert.equal(exported.filter((r) => outside.has(r['@ts'] as string)).length, 0);

    const cleared = await request(t.baseUrl, 'GET', `/tasks/${task.id}/clear_result/`, { token: acme.apiToken });
    assert.equal(cleared.status, 200);
    const gone = await request<{ detail: string }>(t.baseUrl, 'GET', `/tasks/${task.id}/result/`, { token: acme.apiToken });
    assert.equal(gone.status, 404);
  });
});
