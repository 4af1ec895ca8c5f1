import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { planStretches, rowIntervals, type SegmentInfo } from '../../src/modules/exports/segment-assembly.js';

const segment = (id: string, first: number, last: number): SegmentInfo => ({ id, first: BigInt(first), last: BigInt(last), records: 1, rawLength: 1, crc32: 0, storedLength: 1 });
const brief = (stretches: ReturnType<typeof planStretches>) =>
  stretches.map((s) =>
    s.kind === 'copy' ? `copy ${s.segment.id}` : s.kind === 'rows' ? `rows ${s.from}-${s.to}` : `merge ${s.segment.id} ${s.from}-${s.to}${s.rows ? ' +rows' : ''}`,
  );

describe('planning a trip over record segments', () => {
  const segments = [segment('a', 10, 19), segment('b', 20, 29), segment('c', 40, 49)];

  it('copies segments wholly inside the trip with no rows in their time; cuts the edges; reads rows only where there are some', () => {
    const rows = new Set(['30-39', '50-60']);
    const plan = planStretches(15n, 60n, segments, (from, to) => rows.has(`${from}-${to}`));
    assert.deepEqual(brief(plan), ['merge a 15-19', 'copy b', 'rows 30-39', 'copy c', 'rows 50-60']);
  });

  it('merges a segment that rows share time with, and asks about each interval once', () => {
    const plan = planStretches(0n, 45n, segments, (from, to) => from === 20n && to === 29n);
    assert.deepEqual(brief(plan), ['copy a', 'merge b 20-29 +rows', 'merge c 40-45']);
    assert.deepEqual(
      rowIntervals(0n, 45n, segments).map(([f, t]) => `${f}-${t}`),
      ['0-9', '10-19', '20-29', '30-39', '40-45'],
    );
  });
});
