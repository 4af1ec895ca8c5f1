import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CopyFormatError, CopyLinesDecoder } from '../../src/db/copy-lines.decoder.js';

/** A backend message: type byte, length (itself included), payload. */
function message(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(payload.length + 4, 1);
  return Buffer.concat([head, payload]);
}

const FILE_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);

/** One binary COPY tuple of one column (null for SQL NULL). */
function tuple(value: Buffer | null, columns = 1): Buffer {
  const head = Buffer.alloc(6);
  head.writeInt16BE(columns, 0);
  head.writeInt32BE(value === null ? -1 : value.length, 2);
  return Buffer.concat([head, value ?? Buffer.alloc(0)]);
}

/** What PostgreSQL sends for `COPY … TO STDOUT (FORMAT binary)`: header with the first row, one message per row. */
function copyOut(values: readonly Buffer[], after = Buffer.from('C\0\0\0\x0dCOPY 2\0Z\0\0\0\x05I', 'latin1')): Buffer {
  const rows = values.map((v, i) => message('d', i === 0 ? Buffer.concat([FILE_HEADER, tuple(v)]) : tuple(v)));
  return Buffer.concat([
    message('H', Buffer.from([1, 0, 1, 0, 1])),
    ...(values.length ? rows : [message('d', FILE_HEADER)]),
    message('N', Buffer.from('notice in between\0')),
    message('d', Buffer.from([0xff, 0xff])),
    message('c', Buffer.alloc(0)),
    after,
  ]);
}

function decode(bytes: Buffer, split: (at: number) => number, blockSize: number, prepend?: Buffer) {
  const blocks: Buffer[] = [];
  const decoder = new CopyLinesDecoder(blockSize, (b) => blocks.push(Buffer.from(b)));
  if (prepend) decoder.prepend(prepend);
  let rest: Buffer | undefined;
  for (let at = 0; at < bytes.length && rest === undefined;) {
    const end = Math.min(bytes.length, at + split(at));
    rest = decoder.write(bytes.subarray(at, end));
    if (rest !== undefined) rest = Buffer.concat([rest, bytes.subarray(end)]);
    at = end;
  }
  return { blocks, rest, decoder };
}

const values = ['{"a":1}', '', '{"s":"back\\\\slash \\" quote \u0001\u0002\ttab"}', '{"ü":"ünïcødé 🚗"}', 'x'.repeat(300)].map((v) => Buffer.from(v));
const expected = Buffer.concat(values.flatMap((v) => [v, Buffer.from('\n')]));

describe('binary COPY lines decoder', () => {
  for (const [name, split] of [
    ['one chunk', () => Infinity],
    ['a byte at a time', () => 1],
    ['3-byte chunks', () => 3],
    ['odd chunks', (at: number) => 1 + (at % 11)],
  ] as const) {
    it(`restores every value, a newline after each, in blocks of the exact size (${name})`, () => {
      const blockSize = 64;
      const { blocks, rest, decoder } = decode(copyOut(values), split, blockSize, Buffer.from('header\n'));
      assert.deepEqual(Buffer.concat(blocks).toString(), `header\n${expected.toString()}`);
      assert.ok(
        blocks.slice(0, -1).every((b) => b.length === blockSize),
        'all blocks but the last are full',
      );
      assert.ok(blocks.at(-1)!.length > 0 && blocks.at(-1)!.length <= blockSize);
      assert.equal(decoder.rows, values.length);
      assert.equal(decoder.done, true);
      assert.equal(decoder.failure, undefined);
      // What follows CopyDone goes back to the connection's parser, untouched.
      assert.equal(rest?.toString('latin1'), 'C\0\0\0\x0dCOPY 2\0Z\0\0\0\x05I');
    });
  }

  it('an empty result is no block at all', () => {
    const { blocks, decoder } = decode(copyOut([]), () => 5, 16);
    assert.deepEqual(blocks, []);
    assert.equal(decoder.done, true);
    assert.equal(decoder.rows, 0);
  });

  it('hands an ErrorResponse back from its first byte, even when its header was split', () => {
    const error = message('E', Buffer.from('SERROR\0Mboom\0\0'));
    // CopyOutResponse and the first two rows, then the error.
    const bytes = Buffer.concat([copyOut(values).subarray(0, 10 + 37 + 11), error]);
    // Cut so that the error's five header bytes arrive in two chunks.
    const cut = bytes.length - error.length + 2;
    const { rest, decoder } = decode(bytes, (at) => (at < cut ? cut - at : Infinity), 1024);
    assert.deepEqual(rest, error);
    assert.equal(decoder.done, false);
    assert.equal(decoder.rows, 2);
  });

  it('gives up on rows it cannot read but reads the COPY to its end', () => {
    const twoColumns = Buffer.concat([
      message('d', Buffer.concat([FILE_HEADER, tuple(Buffer.from('a'), 2)])),
      message('d', Buffer.from([0xff, 0xff])),
      message('c', Buffer.alloc(0)),
      Buffer.from('Z\0\0\0\x05I', 'latin1'),
    ]);
    const { blocks, rest, decoder } = decode(twoColumns, () => 4, 64);
    assert.ok(decoder.failure instanceof CopyFormatError);
    assert.match(decoder.failure.message, /2 columns/);
    assert.deepEqual(blocks, []);
    assert.equal(decoder.done, true);
    assert.equal(rest?.toString('latin1'), 'Z\0\0\0\x05I');
  });

  it('refuses NULL values and output that is not the binary format', () => {
    assert.match(decode(copyOut([Buffer.from('a'), null as unknown as Buffer]), () => 7, 64).decoder.failure?.message ?? '', /NULL/);
    const text = Buffer.concat([message('d', Buffer.from('just a text line\n'.repeat(2))), message('c', Buffer.alloc(0))]);
    assert.match(decode(text, () => Infinity, 64).decoder.failure?.message ?? '', /not in the binary format/);
  });
});
