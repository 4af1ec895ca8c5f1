import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DEFAULT_TRIP_SETTINGS } from '../../src/modules/devices/trip-settings.js';
import { applyTripEvents, compileTags, type TripState } from '../../src/modules/trips/trip-rules.js';

const S = 1_000_000n;
const t = (seconds: number): bigint => BigInt(seconds) * S;
const ON = 'vehicle/engine/running';
const OFF = 'vehicle/engine/stopped';
const NOT_RUNNING = 'vehicle/engine/not_running';
const RFID_REJECT = 'vehicle/rfid/1234/rejected';

interface Case {
  readonly name: string;
  readonly latest?: Omit<TripState, 'key' | 'isNew'>;
  readonly events: [number, string][];
  /** Stored data points, for the max-age rule. */
  readonly data?: number[];
  /** Resulting trips as [start, end | null, final] in seconds. */
  readonly trips: [number, number | null, boolean][];
  readonly ends: number;
  readonly reopened?: number;
}

const cases: Case[] = [
  {
    name: 'plain trip',
    events: [
      [0, ON],
      [600, OFF],
    ],
    trips: [[0, 600, false]],
    ends: 1,
  },
  {
    name: 'not_running also ends',
    events: [
      [0, ON],
      [60, NOT_RUNNING],
    ],
    trips: [[0, 60, false]],
    ends: 1,
  },
  {
    name: 'reopen inside the limit keeps the start',
    events: [
      [0, ON],
      [600, OFF],
      [900, ON],
      [1200, OFF],
    ],
    trips: [[0, 1200, false]],
    ends: 2,
    reopened: 1,
  },
  {
    name: 'exactly at the limit still reopens',
    events: [
      [0, ON],
      [100, OFF],
      [700, ON],
      [800, OFF],
    ],
    trips: [[0, 800, false]],
    ends: 2,
    reopened: 1,
  },
  {
    name: 'after the limit a new trip starts',
    events: [
      [0, ON],
      [100, OFF],
      [701, ON],
      [800, OFF],
    ],
    trips: [
      [0, 100, false],
      [701, 800, false],
    ],
    ends: 2,
  },
  {
    name: 'a final tag ends for good',
    events: [
      [0, ON],
      [100, RFID_REJECT],
      [150, ON],
      [200, OFF],
    ],
    trips: [
      [0, 100, true],
      [150, 200, false],
    ],
    ends: 2,
  },
  {
    name: 'start on an open trip is ignored',
    events: [
      [0, ON],
      [100, ON],
      [200, OFF],
    ],
    trips: [[0, 200, false]],
    ends: 1,
  },
  {
    name: 'start on a trip older than the max age closes it at its last data point',
    events: [
      [0, ON],
      [6000, ON],
      [6100, OFF],
    ],
    data: [0, 50, 3000, 5999],
    trips: [
      [0, 5999, false],
      [6000, 6100, false],
    ],
    ends: 2,
  },
  {
    name: 'end without a trip is ignored',
    events: [
      [0, OFF],
      [10, ON],
    ],
    trips: [[10, null, false]],
    ends: 0,
  },
  {
    name: 'second end is ignored',
    events: [
      [0, ON],
      [10, OFF],
      [20, OFF],
    ],
    trips: [[0, 10, false]],
    ends: 1,
  },
  {
    name: 'unrelated tags are ignored',
    events: [
      [0, 'vehicle/battery/low'],
      [5, ON],
      [9, 'vehicle/door/open'],
    ],
    trips: [[5, null, false]],
    ends: 0,
  },
  {
    name: 'several trips in one batch',
    events: [
      [0, ON],
      [100, OFF],
      [1000, ON],
      [1100, OFF],
      [5000, ON],
      [5100, OFF],
    ],
    trips: [
      [0, 100, false],
      [1000, 1100, false],
      [5000, 5100, false],
    ],
    ends: 3,
  },
  {
    name: 'an ended stored trip is reopened by a later batch',
    latest: { startAt: t(0), endAt: t(100), finalEnd: false, endCount: 1 },
    events: [
      [200, ON],
      [300, OFF],
    ],
    trips: [[0, 300, false]],
    ends: 1,
    reopened: 1,
  },
  {
    name: 'a stored final trip is not reopened',
    latest: { startAt: t(0), endAt: t(100), finalEnd: true, endCount: 1 },
    events: [[200, ON]],
    trips: [
      [0, 100, true],
      [200, null, false],
    ],
    ends: 0,
  },
  {
    name: 'a stored open trip is ended by a later batch',
    latest: { startAt: t(0), endAt: null, finalEnd: false, endCount: 0 },
    events: [[50, OFF]],
    trips: [[0, 50, false]],
    ends: 1,
  },
];

describe('trip rules', () => {
  for (const c of cases) {
    it(c.name, async () => {
      let n = 0;
      const latest: TripState | null = c.latest ? { key: 'stored', isNew: false, ...c.latest } : null;
      const data = (c.data ?? []).map(t);
      const result = await applyTripEvents(
        latest,
        c.events.map(([at, tag]) => ({ at: t(at), tag })),
        {
          settings: DEFAULT_TRIP_SETTINGS,
          tags: compileTags(DEFAULT_TRIP_SETTINGS),
          newKey: () => `new-${++n}`,
          lastDataBefore: async (from, at) => data.filter((d) => d >= from && d < at).reduce<bigint | undefined>((m, d) => (m === undefined || d > m ? d : m), undefined),
        },
      );
      assert.deepEqual(
        result.touched.map((trip) => [Number(trip.startAt / S), trip.endAt === null ? null : Number(trip.endAt / S), trip.finalEnd]),
        c.trips,
      );
      assert.equal(result.ends.length, c.ends);
      assert.equal(result.reopened.length, c.reopened ?? 0);
    });
  }

  it('counts every end of a reopened trip', async () => {
    const result = await applyTripEvents(
      null,
      [
        [0, ON],
        [10, OFF],
        [20, ON],
        [30, OFF],
      ].map(([at, tag]) => ({ at: t(at as number), tag: tag as string })),
      {
        settings: DEFAULT_TRIP_SETTINGS,
        tags: compileTags(DEFAULT_TRIP_SETTINGS),
        newKey: () => 'k',
        lastDataBefore: async () => undefined,
      },
    );
    assert.deepEqual(
      result.ends.map((e) => e.endCount),
      [1, 2],
    );
  });

  it('honours custom tags as whole-tag regular expressions', async () => {
    const tags = compileTags({ startTags: ['ignition/on'], endTags: ['ignition/off'], finalEndTags: [] });
    const result = await applyTripEvents(
      null,
      [
        [0, 'ignition/on/extra'],
        [1, 'ignition/on'],
        [2, 'ignition/off'],
      ].map(([at, tag]) => ({ at: t(at as number), tag: tag as string })),
      {
        settings: DEFAULT_TRIP_SETTINGS,
        tags,
        newKey: () => 'k',
        lastDataBefore: async () => undefined,
      },
    );
    assert.deepEqual(
      result.touched.map((x) => [x.startAt, x.endAt]),
      [[t(1), t(2)]],
    );
  });
});
