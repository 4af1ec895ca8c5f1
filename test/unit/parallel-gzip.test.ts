import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';

import { parallelGzip } from '../../src/modules/exports/parallel-gzip.js';

async function gzipOf(input: Buffer, chunk: number, blockSize: number, parallel = 2): Promise<Buffer> {
  async function* chunks() {
    for (let at = 0; at < input.length; at += chunk) yield input.subarray(at, at + chunk);
  }
  const out: Buffer[] = [];
  for await (const part of parallelGzip(chunks(), { level: 6, blockSize, parallel })) out.push(part);
  return Buffer.concat(out);
}

/** JSON Lines that compress like an export: repetitive, with references across blocks. */
function jsonLines(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `{"@t":"obd.rpm","@ts":"2026-11-26T08:${String(i % 60).padStart(2, '0')}:00.${String(i).padStart(6, '0').slice(-6)}Z","obd.rpm.value":${1500 + (i % 97)},"noise":"${randomBytes(4).toString('hex')}"}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

describe('parallel gzip', () => {
  const blockSize = 64 * 1024;
  for (const size of [0, 1, blockSize - 1, blockSize, blockSize + 1, Math.round(blockSize * 3.5)]) {
    it(`writes one gzip member that any reader restores exactly (${size} bytes)`, async () => {
      const input = jsonLines(size);
      const gz = await gzipOf(input, 7_000, blockSize);
      assert.deepEqual(gunzipSync(gz), input);
      // One member: header, one deflate stream that ends the data, CRC-32 and length of all of it.
      assert.deepEqual([...gz.subarray(0, 3)], [0x1f, 0x8b, 8]);
      assert.deepEqual(inflateRawSync(gz.subarray(10, gz.length - 8)), input);
      assert.equal(gz.readUInt32LE(gz.length - 8), crc32(input));
      assert.equal(gz.readUInt32LE(gz.length - 4), input.length);
    });
  }

  it('gives the same bytes however the input is chunked', async () => {
    const input = jsonLines(blockSize * 5 + 123);
    const a = await gzipOf(input, 1_000, blockSize);
    const b = await gzipOf(input, blockSize * 2 + 17, blockSize, 3);
    assert.deepEqual(a, b);
  });

  it('compresses across block boundaries like one stream does', async () => {
    // Blocks primed with the previous 32 KiB: little worse than a single-threaded gzip.
    const input = jsonLines(blockSize * 8);
    const parallel = await gzipOf(input, 16_384, blockSize);
    assert.ok(parallel.length < gzipSync(input, { level: 6 }).length * 1.05, `${parallel.length} bytes`);
  });
});
