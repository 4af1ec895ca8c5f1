import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';

import fc from 'fast-check';

import { AppError } from '../../src/lib/errors.js';
import { parseUpload, type UploadLimits } from '../../src/modules/ingest/record-parser.js';

const LIMITS: UploadLimits = { maxBytes: 1024 * 1024, maxRecords: 1000, maxRecordBytes: 64 * 1024, maxDepth: 32 };

/** The body in the chunks a socket or the inflater might hand over, counting what was read. */
function source(body: Buffer, cuts: readonly number[] = []): AsyncIterable<Buffer> & { read: number } {
  const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const state = {
    read: 0,
    async *[Symbol.asyncIterator]() {
      let at = 0;
      for (const point of [...points, body.length]) {
        if (point <= at) continue;
        state.read = point;
        yield body.subarray(at, point);
        at = point;
      }
    },
  };
  return state;
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected a typed refusal, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal');
}

const record = fc.record({
  '@t': fc.constantFrom('obd.rpm', 'track.pos', 'acc.xyz'),
  '@ts': fc.constantFrom('2026-03-02T08:00:00.123456Z', '2026-03-02T08:00:01Z', '2026-03-02 08:00:02.5+01:00'),
  value: fc.jsonValue({ maxDepth: 4 }),
});
const space = fc.constantFrom('', ' ', '\n', '\t', '\r\n ');

describe('upload parser', () => {
  it('reads what JSON.parse reads, however the bytes are cut, with the same batch hash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        space,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        async (records, lines, ws, cuts, gzip) => {
          const text = lines
            ? records.map((r) => ws.replaceAll('\n', '') + JSON.stringify(r)).join('\n') + ws
            : `${ws}[${records.map((r) => ws + JSON.stringify(r, null, ws.includes('\t') ? 1 : 0)).join(`,${ws}`)}]${ws}`;
          const body = Buffer.from(text);
          const parsed = await parseUpload(source(gzip ? gzipSync(body) : body, cuts), undefined, LIMITS);
          assert.deepEqual(
            parsed.records.map((r) => r.data),
            JSON.parse(JSON.stringify(records)),
          );
          assert.equal(parsed.sha256, createHash('sha256').update(text).digest('hex'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers generated garbage with a typed 4xx refusal or records, never anything else', async () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
      fc
        .array(fc.constantFrom('[', ']', '{', '}', '"', '\\', ',', ':', '\n', ' ', '1', 'null', '"@t"', '"@ts"', '"x"', '"2026-03-02T08:00:00Z"', '\u00e9', '\uFEFF'), {
          maxLength: 80,
        })
        .map((p) => Buffer.from(p.join(''))),
    );
    await fc.assert(
      fc.asyncProperty(junk, fc.array(fc.nat(), { maxLength: 5 }), fc.constantFrom(undefined, 'gzip', 'br'), fc.boolean(), async (body, cuts, encoding, compress) => {
        const sent = compress ? gzipSync(body).subarray(0, Math.max(2, body.length)) : body;
        try {
          const parsed = await parseUpload(source(sent, cuts), encoding, { ...LIMITS, maxRecordBytes: 100, maxDepth: 4 });
          assert.ok(parsed.records.length > 0);
        } catch (error) {
          assert.ok(error instanceof AppError, `not a typed refusal: ${String(error)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a body of too many records early, without reading the rest', async () => {
    const one = Buffer.from('{"@t":"a","@ts":"2026-01-01T00:00:00Z"},');
    const body = Buffer.concat([Buffer.from('['), ...Array.from({ length: 100_000 }, () => one), Buffer.from('{"@t":"a","@ts":"2026-01-01T00:00:00Z"}]')]);
    const src = source(
      body,
      Array.from({ length: 400 }, (_, i) => i * 16_384),
    );
    const error = await refusal(parseUpload(src, undefined, { ...LIMITS, maxBytes: 16 * 1024 * 1024 }));
    assert.equal(error.code, 'PAYLOAD_TOO_LARGE');
    assert.match(error.message, /more than 1000 records/);
    assert.ok(src.read < 64 * 1024, `read ${src.read} of ${body.length} bytes`);
  });

  it('stops inflating at the byte limit: a small gzip body that holds a huge record', async () => {
    const huge = Buffer.concat([Buffer.from('[{"@t":"a","@ts":"2026-01-01T00:00:00Z","x":"'), Buffer.alloc(8 * 1024 * 1024, 0x61), Buffer.from('"}]')]);
    const gzip = gzipSync(huge);
    const tooBigRecord = await refusal(parseUpload(source(gzip, [1024]), 'gzip', LIMITS));
    assert.equal(tooBigRecord.code, 'PAYLOAD_TOO_LARGE');
    assert.match(tooBigRecord.message, /Record 0 is larger than 65536 bytes/);
    const tooManyBytes = await refusal(parseUpload(source(gzip), 'gzip', { ...LIMITS, maxRecordBytes: LIMITS.maxBytes * 16 }));
    assert.match(tooManyBytes.message, /exceeds 1048576 bytes once decompressed/);
    const sentTooMuch = await refusal(parseUpload(source(huge), undefined, LIMITS));
    assert.match(sentTooMuch.message, /exceeds 1048576 bytes/);
  });

  it('refuses a record nested deeper than the limit as bad input, naming it, in arrays and in lines', async () => {
    const deep = `{"@t":"a","@ts":"2026-01-01T00:00:00Z","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const inArray = await refusal(parseUpload(source(Buffer.from(`[{"@t":"a","@ts":"2026-01-01T00:00:00Z"},${deep}]`)), undefined, LIMITS));
    assert.equal(inArray.code, 'INVALID_INPUT');
    assert.match(inArray.message, /Record 1 is nested deeper than 32 levels/);
    const inLines = await refusal(parseUpload(source(Buffer.from(`\n${deep}\n`)), undefined, LIMITS));
    assert.match(inLines.message, /Record 0 is nested deeper than 32 levels/);
    // Brackets inside strings are text, not nesting.
    const text = await parseUpload(source(Buffer.from(`[{"@t":"a","@ts":"2026-01-01T00:00:00Z","x":"${'[{'.repeat(100)}\\""}]`)), undefined, LIMITS);
    assert.equal(text.records.length, 1);
  });

  it('names bad JSON Lines and bad records as before', async () => {
    const lines = await refusal(parseUpload(source(Buffer.from('{"@t":"a","@ts":"2026-01-01T00:00:00Z"}\n\n{"@t":\n')), undefined, LIMITS));
    assert.equal(lines.message, 'Line 3 is not valid JSON');
    assert.deepEqual(lines.details, { bad_records: [{ index: 1, line: 3, error: 'not valid JSON' }] });
    const array = await refusal(parseUpload(source(Buffer.from('[{"@t":"a","@ts":"2026-01-01T00:00:00Z"}, 1, "x"]')), undefined, LIMITS));
    assert.match(array.message, /^2 of 3 records are invalid \(record 1: record must be a JSON object\)/);
    for (const body of ['[', '[{"@t":"a","@ts":"2026-01-01T00:00:00Z"},]', '[{"@t":"a","@ts":"2026-01-01T00:00:00Z"}] x', '[{"@t":"a","@ts":"2026-01-01T00:00:00Z"} x]']) {
      assert.match((await refusal(parseUpload(source(Buffer.from(body)), undefined, LIMITS))).message, /not valid JSON/, body);
    }
    for (const body of ['', ' \n ', '[]', '\uFEFF[ ]']) assert.equal((await refusal(parseUpload(source(Buffer.from(body)), undefined, LIMITS))).message, 'Batch is empty');
  });
});
