import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isoToMicros } from '../../src/lib/time.js';
import { deviceBatches } from '../../src/sim/device-batches.js';
import { deviceRecords, type SimRecord, tripRecords } from '../../src/sim/fleet-data.js';
import { distanceM, type LatLon } from '../../src/sim/geo.js';
import { createRandom } from '../../src/sim/random.js';
import { DEMO_ROUTE, segmentsOf } from '../../src/sim/routes.js';

const START = Date.parse('2026-03-02T08:00:00Z') * 1000;
const demoTrip = (seed: number): SimRecord[] => [...tripRecords({ startMicros: START, route: DEMO_ROUTE, random: createRandom(seed) })].map((r) => r.record);

describe('simulated device data', () => {
  it('is one complete drive along the route: engine on, samples in strictly ascending @ts, engine off', () => {
    const records = demoTrip(7);
    assert.deepEqual(records[0], { '@t': 'event.vehicle.engine', '@ts': '2026-03-02T08:00:00.000000Z', '@tag': 'vehicle/engine/running' });
    assert.equal(records.at(-1)!['@tag'], 'vehicle/engine/stopped');
    assert.equal(records.filter((r) => r['@t'].startsWith('event.')).length, 2);
    const times = records.map((r) => isoToMicros(r['@ts'])!);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `record ${i} is not after record ${i - 1}`);

    const types = new Set(records.map((r) => r['@t']));
    for (const type of ['track.pos', 'obd.rpm', 'obd.speed', 'obd.engine_load', 'obd.coolant_temp', 'obd.fuel_level', 'acc.xyz']) assert.ok(types.has(type), type);

    const fixes = records.filter((r) => r['@t'] === 'track.pos');
    const route = segmentsOf(DEMO_ROUTE).reduce((sum, s) => sum + s.lengthM, 0);
    const driven = fixes.slice(1).reduce((sum, r, i) => sum + distanceM(fixes[i]!['track.pos.loc'] as LatLon, r['track.pos.loc'] as LatLon), 0);
    assert.ok(Math.abs(driven - route) < route * 0.05, `drove ${driven} m of a ${route} m route`);
    const end = fixes.at(-1)!['track.pos.loc'] as LatLon;
    assert.ok(distanceM(end, DEMO_ROUTE.points.at(-1)!) < 20, 'arrives at the end of the route');
    for (const fix of fixes) {
      const sog = fix['track.pos.sog'] as number;
      assert.ok(sog >= 0 && sog < 80, `speed ${sog} km/h on roads limited to 70`);
      const nsat = fix['track.pos.nsat'] as number;
      assert.ok(Number.isInteger(nsat) && nsat >= 5 && nsat <= 14);
    }
    const rpm = records.filter((r) => r['@t'] === 'obd.rpm').map((r) => r['obd.rpm.value'] as number);
    assert.ok(Math.min(...rpm) > 600 && Math.max(...rpm) < 5000);
  });

  it('is the same for the same seed and differs for another', () => {
    assert.deepEqual(demoTrip(3), demoTrip(3));
    assert.notDeepEqual(demoTrip(3), demoTrip(4));
  });

  it('scales to a requested record rate', () => {
    const fast = [...tripRecords({ startMicros: START, route: DEMO_ROUTE, random: createRandom(1), recordsPerSecond: 40, maxSeconds: 120 })];
    const seconds = (fast.at(-1)!.at - fast[0]!.at) / 1e6;
    assert.ok(seconds <= 120.001, `engine off after ${seconds} s`);
    const rate = fast.length / seconds;
    assert.ok(rate > 36 && rate < 44, `rate ${rate}`);
  });

  it('fills a device day with complete trips separated by parked time', () => {
    const records = [...deviceRecords({ startMicros: START, seconds: 3 * 3600, random: createRandom(9), home: DEMO_ROUTE.points[0]! })].map((r) => r.record);
    const tags = records.filter((r) => r['@t'] === 'event.vehicle.engine').map((r) => r['@tag']);
    assert.ok(tags.length >= 4);
    tags.forEach((tag, i) => assert.equal(tag, i % 2 === 0 ? 'vehicle/engine/running' : 'vehicle/engine/stopped'));
    assert.ok(isoToMicros(records.at(-1)!['@ts'])! <= BigInt(START + 3 * 3600e6));
  });

  it('groups records into device batches: one per upload interval, never more than the maximum', () => {
    const timed = [...tripRecords({ startMicros: START, route: DEMO_ROUTE, random: createRandom(5) })];
    const batches = [...deviceBatches(timed, 60, 200)];
    assert.deepEqual(
      batches.flatMap((b) => b.records),
      timed.map((t) => t.record),
    );
    for (const batch of batches) {
      assert.ok(batch.records.length <= 200);
      const last = isoToMicros(batch.records.at(-1)!['@ts'])!;
      assert.ok(last <= BigInt(batch.dueAt), 'a batch is sent after what it holds was logged');
    }
    assert.equal(batches.filter((b) => b.hasEvents).length, 2);
  });
});
