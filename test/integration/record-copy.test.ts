import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';

import pg from 'pg';
import copyStreams from 'pg-copy-streams';

import { isoToMicros } from '../../src/lib/time.js';
import { encodeRecordRows, type RecordRow, RECORDS_COPY_IN } from '../../src/modules/ingest/record-copy.js';
import { TEST_SERVER_URL } from '../support/test-db.js';

/** The binary rows uploads write, read back by a real PostgreSQL. */
describe('records COPY encoding', () => {
  let client: pg.Client;
  const deviceId = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
  const rows: RecordRow[] = [
    { at: isoToMicros('2026-11-26T08:00:00.000001Z')!, line: '{"@t":"track.pos","note":"ünïcødé 🚗 \\"q\\" \\\\ \u0001"}', lat: 56.15012345678901, lon: -10.2 },
    { at: isoToMicros('1999-12-31T23:59:59.999999Z')!, line: '{"before":"2000, when PostgreSQL counts from"}', lat: null, lon: null },
    { at: isoToMicros('2199-01-01T00:00:00.5Z')!, line: `{"long":"${'x'.repeat(70_000)}"}`, lat: 0, lon: 180 },
    { at: isoToMicros('2026-11-26T08:00:01Z')!, line: '{"日本語":"€"}', lat: -0.000001, lon: 1e-300 },
    // Past 2^53 µs (the year 2255) a Number no longer holds every microsecond.
    { at: 2n ** 53n + 1n, line: '{"far":"future"}', lat: null, lon: null },
  ];

  before(async () => {
    client = new pg.Client({ connectionString: TEST_SERVER_URL });
    await client.connect();
    // Shadows any records table: pg_temp comes first on the search path.
    await client.query('create temporary table records (device_id uuid, ts timestamptz(6), line text, lat double precision, lon double precision)');
  });
  after(() => client.end());

  for (const chunkBytes of [64, 300, 1 << 20]) {
    it(`stores every column exactly, whatever the chunking (${chunkBytes}-byte chunks)`, async () => {
      await client.query('truncate records');
      const chunks = [...encodeRecordRows([{ deviceId, rows }], chunkBytes)];
      assert.ok(chunks.every((c) => c.length > 0));
      await pipeline(Readable.from(chunks), client.query(copyStreams.from(RECORDS_COPY_IN)));
      const { rows: stored } = await client.query<{ device_id: string; micros: string; line: string; lat: number | null; lon: number | null }>(
        `select device_id::text, (extract(epoch from ts) * 1000000)::bigint::text as micros, line, lat, lon from records order by ts`,
      );
      const expected = [...rows].sort((a, b) => (a.at < b.at ? -1 : 1));
      assert.deepEqual(
        stored,
        expected.map((r) => ({ device_id: deviceId, micros: String(r.at), line: r.line, lat: r.lat, lon: r.lon })),
      );
    });
  }

  it('takes several devices in one COPY', async () => {
    await client.query('truncate records');
    const other = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
    const [first, second] = [rows.slice(0, 2), rows.slice(2)];
    await pipeline(
      Readable.from([
        ...encodeRecordRows(
          [
            { deviceId, rows: first },
            { deviceId: other, rows: second },
          ],
          128,
        ),
      ]),
      client.query(copyStreams.from(RECORDS_COPY_IN)),
    );
    const { rows: stored } = await client.query<{ device_id: string; line: string }>('select device_id::text, line from records order by ts');
    const expected = [...first.map((r) => ({ ...r, device: deviceId })), ...second.map((r) => ({ ...r, device: other }))].sort((a, b) => (a.at < b.at ? -1 : 1));
    assert.deepEqual(
      stored,
      expected.map((r) => ({ device_id: r.device, line: r.line })),
    );
  });

  it('an empty batch is a valid COPY of nothing', async () => {
    await client.query('truncate records');
    await pipeline(Readable.from([...encodeRecordRows([{ deviceId, rows: [] }], 64)]), client.query(copyStreams.from(RECORDS_COPY_IN)));
    assert.equal((await client.query('select * from records')).rowCount, 0);
  });
});
