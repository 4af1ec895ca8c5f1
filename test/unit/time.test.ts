import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { canonicalFromPostgres, canonicalIso, formatDuration, isoToMicros, microsToIso, secondsBetween } from '../../src/lib/time.js';

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
    ['2024-02-29T23:59:59.999999-01:30', '2024-03-01T01:29:59.999999Z'],
    ['2023-02-29T00:00:00Z', undefined],
    ['2023-04-31T00:00:00Z', undefined],
    ['0099-01-01T00:00:00Z', undefined],
    ['2300-06-01T00:00:00.000007Z', '2300-06-01T00:00:00.000007Z'],
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => assert.equal(canonicalIso(input), expected));
  }
  it('measures durations to the microsecond, from canonical times and any other ISO form alike', () => {
    const cases: [string, string, number][] = [
      ['2026-10-01T06:00:00.000999Z', '2026-10-01T06:00:01.000000Z', 0.999001],
      ['2026-10-01T06:00:00.000000Z', '2026-10-02T07:01:02.500000Z', 90062.5],
      ['2026-12-31T23:59:59.999999Z', '2027-01-01T00:00:00.000000Z', 0.000001],
      ['2026-10-01T08:00:00+02:00', '2026-10-01T06:00:00.000001Z', 0.000001],
      ['2024-02-28T12:00:00.000000Z', '2024-03-01 12:00:00.25+00', 172800.25],
      ['2024-02-28T00:00:00.000000Z', '2024-03-01T00:00:00.000000Z', 172800],
    ];
    for (const [from, to, seconds] of cases) assert.ok(Math.abs(secondsBetween(from, to) - seconds) < 1e-9, `${from} .. ${to}: ${secondsBetween(from, to)}`);
    assert.equal(
      formatDuration(secondsBetween('2026-10-01T06:00:00.000999Z', '2026-10-01T06:00:01.000000Z')),
      '00:00:00',
      'a duration is floored, never rounded up by a lost fraction',
    );
  });
  it('measures canonical times as the full parser does, across centuries, leap days and month ends', () => {
    const start = Date.UTC(1700, 0, 1);
    // 1700 to 2250: microseconds since the epoch are exact in a Number from 1685 to 2255.
    const span = Date.UTC(2250, 0, 1) - start;
    for (let i = 0; i < 2000; i++) {
      const at = (): string => microsToIso(BigInt(start + Math.floor(Math.random() * span)) * 1000n + BigInt(Math.floor(Math.random() * 1000)));
      const [from, to] = [at(), at()];
      assert.equal(secondsBetween(from, to), Number(isoToMicros(to)! - isoToMicros(from)!) / 1e6, `${from} .. ${to}`);
    }
  });
  it('round-trips through microseconds', () => {
    const micros = isoToMicros('2026-11-25T08:00:00.000001Z')!;
    assert.equal(microsToIso(micros + 1n), '2026-11-25T08:00:00.000002Z');
  });
  it('formats consecutive and far-apart times alike', () => {
    // The formatter caches the last second; crossing seconds, both ways, must not reuse it.
    const times = ['2026-11-25T08:00:00.999999Z', '2026-11-25T08:00:01.000000Z', '2026-11-25T07:59:59.000001Z', '1969-12-31T23:59:59.000000Z', '2026-11-25T08:00:01.000010Z'];
    for (const time of times) assert.equal(microsToIso(isoToMicros(time)!), time);
    assert.equal(microsToIso(-1n), '1969-12-31T23:59:59.999999Z');
    assert.equal(microsToIso(2n ** 53n + 1n), '2255-06-05T23:47:34.740993Z');
  });
  it('reads times in the second it parsed last exactly like any other', () => {
    // The parser remembers the last UTC second: each of these starts with it.
    const base = Date.UTC(2026, 10, 25, 8, 0, 0) * 1000;
    const cases: [string, number | undefined][] = [
      ['2026-11-25T08:00:00.5Z', base + 500_000],
      ['2026-11-25T08:00:00.000001Z', base + 1],
      ['2026-11-25T08:00:00Z', base],
      ['2026-11-25T08:00:00.123456789Z', base + 123_456],
      ['2026-11-25T08:00:00.1234567891Z', undefined],
      ['2026-11-25T08:00:00.12a4Z', undefined],
      ['2026-11-25T08:00:00.Z', undefined],
      ['2026-11-25T08:00:00.25', base + 250_000],
      ['2026-11-25T08:00:00.25+01:00', base + 250_000 - 3_600_000_000],
      ['2026-11-25T08:00:001Z', undefined],
      ['2026-11-25T08:00:00.999999Z', base + 999_999],
    ];
    for (const [input, expected] of cases) assert.equal(isoToMicros(input), expected === undefined ? undefined : BigInt(expected), input);
  });
  it("rearranges PostgreSQL's UTC text into the same canonical form the parser gives", () => {
    const texts = ['2026-10-01 06:00:00+00', '2026-10-01 06:00:00.1+00', '2026-10-01 06:00:00.123456+00', '2024-02-29 23:59:59.000001+00'];
    for (const text of texts) assert.equal(canonicalFromPostgres(text), canonicalIso(text), text);
    // Not UTC, not PostgreSQL's shape, or not a time: the full parser decides.
    assert.equal(canonicalFromPostgres('2026-10-01 06:00:00+02'), '2026-10-01T04:00:00.000000Z');
    assert.equal(canonicalFromPostgres('2026-10-01T06:00:00Z'), '2026-10-01T06:00:00.000000Z');
    assert.equal(canonicalFromPostgres('2026-10-01 06:00:00.1234567+00'), '2026-10-01T06:00:00.123456Z');
    assert.equal(canonicalFromPostgres('not a time'), undefined);
    for (const text of [
      '2026-10-01 06:00:00.+00',
      '2026-1x-01 06:00:00+00',
      '2026-10-01 06:00:0a+00',
      '2026-10-01 06:00:00.12a+00',
      '12026-10-01 06:00:00+00',
      '2026-10-01 06:00:00+000',
    ]) {
      assert.equal(canonicalFromPostgres(text), canonicalIso(text), text);
    }
  });
  it('formats durations as HH:MM:SS', () => {
    assert.equal(formatDuration(0), '00:00:00');
    assert.equal(formatDuration(3723.9), '01:02:03');
    assert.equal(formatDuration(90000), '25:00:00');
  });
});
