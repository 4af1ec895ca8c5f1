import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32, deflateRawSync, gunzipSync } from 'node:zlib';

import { crc32Combine, decodeSegment, encodeSegment, gzipMemberOf, lineMicros, lineStarts } from '../../src/modules/ingest/segment-codec.js';

const line = (i: number): Buffer =>
  Buffer.from(JSON.stringify({ '@t': 'obd.rpm', '@ts': `2026-03-10T08:00:${String(i % 60).padStart(2, '0')}.5Z`, v: randomBytes(6).toString('hex'), n: 'ünï "\\' }));

/** What python3's zlib makes of a gzip member read as one stream (wbits 31: gzip, one member). */
function pythonDecompress(gz: Buffer): Buffer {
  const run = spawnSync('python3', ['-c', 'import sys, zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), 31))'], { input: gz, maxBuffer: 1 << 26 });
  assert.equal(run.status, 0, run.stderr.toString());
  return run.stdout;
}

describe('segment codec', () => {
  it('encodes lines so they decode to the same bytes, each with its newline', () => {
    for (const count of [0, 1, 2, 500]) {
      const lines = Array.from({ length: count }, (_, i) => line(i));
      const segment = encodeSegment(lines);
      const text = decodeSegment(segment.data);
      assert.deepEqual(text, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
      assert.equal(segment.recordCount, count);
      assert.equal(segment.rawLength, text.length);
      assert.equal(segment.crc32, crc32(text));
      assert.equal(lineStarts(text).length, count + 1);
    }
  });

  it('reads the @ts of a stored line as ingest read it', () => {
    assert.equal(lineMicros(Buffer.from('{"a":{"@ts":"1999-01-01T00:00:00Z"},"@ts":"2026-03-10T09:00:00.000001+01:00"}')), 1773129600000001n);
    assert.throws(() => lineMicros(Buffer.from('{"@ts":5}')), /no valid "@ts"/);
  });

  it('combines CRC-32s as zlib does, for lengths from 0 up', () => {
    for (let i = 0; i < 200; i++) {
      const a = randomBytes(randomInt(0, 3000));
      const b = randomBytes(i < 20 ? i : randomInt(0, 70_000));
      assert.equal(crc32Combine(crc32(a), crc32(b), b.length), crc32(Buffer.concat([a, b])));
    }
  });

  it('joins segments into one gzip member that single-member readers read whole', () => {
    const texts: Buffer[] = [];
    const pieces = Array.from({ length: 5 }, (_, s) => {
      const lines = Array.from({ length: s === 2 ? 0 : 300 + s }, (_, i) => line(i + s));
      const segment = encodeSegment(lines);
      texts.push(decodeSegment(segment.data));
      return segment;
    });
    // A piece compressed another way (sync flush, level 1) joins as well.
    const extra = Buffer.from('{"x":1}\n');
    texts.push(extra);
    const gz = gzipMemberOf([...pieces, { data: deflateRawSync(extra, { level: 1, finishFlush: 2 }), crc32: crc32(extra), rawLength: extra.length }]);
    const all = Buffer.concat(texts);
    assert.deepEqual(gunzipSync(gz), all);
    assert.deepEqual(pythonDecompress(gz), all);
  });
});
