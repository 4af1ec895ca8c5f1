import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeSegmentIndex, encodeSegmentIndex, SegmentIndexBuilder } from '../../src/modules/trips/segment-index.js';

describe('segment index (record_segments.positions)', () => {
  it('gives back every time and position exactly, NaN where a record has none; empty too', () => {
    const builder = new SegmentIndexBuilder();
    let at = 1_764_000_000_123_456n;
    for (let i = 0; i < 1000; i++) {
      at += BigInt(i % 7 === 0 ? 0 : 1 + Math.floor(Math.random() * 200_000));
      if (i % 3 === 0) builder.add(at, null, null);
      else builder.add(at, -90 + Math.random() * 180, i === 1 ? -0 : Math.random() * 360 - 180);
    }
    const index = builder.build();
    const back = decodeSegmentIndex(encodeSegmentIndex(index));
    assert.deepEqual([...back.ts], [...index.ts]);
    assert.deepEqual([...back.lat], [...index.lat]);
    assert.deepEqual([...back.lon], [...index.lon]);
    assert.ok(Object.is(back.lon[1], -0));
    const empty = decodeSegmentIndex(new SegmentIndexBuilder().encode());
    assert.equal(empty.ts.length, 0);
    assert.throws(() => decodeSegmentIndex(Buffer.from([2, 0, 0, 0, 0])), RangeError);
  });
});
