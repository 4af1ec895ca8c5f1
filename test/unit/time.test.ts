import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalIso, formatDuration, isoToMicros, microsToIso } from '../../src/lib/time.js';

describe('timestamps keep their microseconds', () => {
  const cases: [string, string | undefined][] = [
    ['2020-01-01T08:16:52.962918Z', '2020-01-01T08:16:52.962918Z'],
    ['2020-01-01T08:16:52Z', '2020-01-01T08:16:52.000000Z'],
    ['2020-01-01T10:16:52.5+02:00', '2020-01-01T08:16:52.500000Z'],
    ['2020-01-01 08:16:52.962918+00', '2020-01-01T08:16:52.962918Z'],
    ['1969-12-31T23:59:59.999999Z', '1969-12-31T23:59:59.999999Z'],
    ['2020-02-30T00:00:00Z', undefined],
    ['yesterday', undefined],
    ['2020-01-01T25:00:00Z', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => assert.equal(canonicalIso(input), expected));
  }
  it('round-trips through microseconds', () => {
    const micros = isoToMicros('2026-11-25T08:00:00.000001Z')!;
    assert.equal(microsToIso(micros + 1n), '2026-11-25T08:00:00.000002Z');
  });
  it('formats durations as HH:MM:SS', () => {
    assert.equal(formatDuration(0), '00:00:00');
    assert.equal(formatDuration(3723.9), '01:02:03');
    assert.equal(formatDuration(90000), '25:00:00');
  });
});
