import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { loadConfig } from '../../src/config/config.js';
import { compactDue } from '../../src/modules/ingest/compaction.js';
import { compactDevice, reclaimEmptiedPartition } from '../../src/modules/ingest/compactor.js';
import { decodeSegment } from '../../src/modules/ingest/segment-codec.js';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { insertRecords, makeRecords, type StoredRecord } from '../factories/trips.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';

const config = loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: 'test-secret-test-secret-test-secret-0123' });

interface SegmentRow {
  first: string;
  last: string;
  record_count: number;
  raw_length: number;
  crc32: string;
  data: Buffer;
}

const byTsLine = (a: StoredRecord, b: StoredRecord): number => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : Buffer.compare(Buffer.from(a.line), Buffer.from(b.line)));

describe('compacting a device into record segments (real PostgreSQL)', () => {
  let db: TestDatabase;
  let acme: TestCustomer;
  before(async () => {
    db = await createTestDatabase();
    acme = await createCustomer(db.orm, config);
  });
  after(() => db.drop());

  const segmentsOf = async (deviceId: string) =>
    (
      await db.pool.query<SegmentRow>(
        `select to_char(first_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as first, to_char(last_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as last,
                record_count, raw_length, crc32, data from record_segments where device_id = $1 order by first_ts`,
        [deviceId],
      )
    ).rows;
  const rowCount = async (deviceId: string) => Number((await db.pool.query<{ count: string }>('select count(*) from records where device_id = $1', [deviceId])).rows[0]!.count);

  it('moves the rows before the cutoff into non-overlapping segments holding the exact lines in (ts, line) order', async () => {
    const van = await createDevice(db.orm, acme);
    const records = makeRecords(van, '2026-03-10T08:00:00.000000Z', 3000, 0.5, 40);
    // Ties: the same @ts with other lines, and the very same line twice.
    const ties = records.slice(1000, 1010).map((r) => ({ ts: r.ts, line: r.line.replace('"obd.rpm"', '"obd.rpm2"') }));
    // Lines longer than a COPY block (256 KiB), at a time other lines have too.
    const long = makeRecords(van, records[1200]!.ts, 2, 0.5, 300_000);
    const all = [...records, ...ties, records[2000]!, ...long];
    await insertRecords(db.pool, van, all.toReversed());
    const cutoff = records[2500]!.ts;
    const outcome = await compactDevice(db.pool, van.id, cutoff, { maxRecordsPerSegment: 700, maxSegments: 100, maxSegmentBytes: 64 * 1024 });
    const expected = all.filter((r) => r.ts < cutoff).sort(byTsLine);
    assert.equal(outcome.records, expected.length);
    assert.equal(outcome.more, false);
    const segments = await segmentsOf(van.id);
    assert.equal(segments.length, outcome.segments);
    assert.ok(segments.length > 3);
    const text = Buffer.concat(segments.map((s) => decodeSegment(s.data)));
    assert.equal(text.toString(), expected.map((r) => `${r.line}\n`).join(''));
    for (const [i, s] of segments.entries()) {
      assert.ok(s.record_count <= 700 + 10 && (s.raw_length <= 64 * 1024 + 2000 || s.raw_length > 300_000), 'about the size asked for');
      if (i > 0) assert.ok(segments[i - 1]!.last < s.first, 'segments never share a time');
    }
    assert.equal(await rowCount(van.id), all.length - expected.length);

    // The next run goes on after the last segment, up to a later cutoff.
    const next = await compactDevice(db.pool, van.id, '2027-01-01T00:00:00Z', { maxRecordsPerSegment: 100_000, maxSegments: 100 });
    assert.equal(next.records, all.length - expected.length);
    assert.equal(await rowCount(van.id), 0);
    const again = await segmentsOf(van.id);
    assert.equal(
      Buffer.concat(again.map((s) => decodeSegment(s.data))).toString(),
      [...all]
        .sort(byTsLine)
        .map((r) => `${r.line}\n`)
        .join(''),
    );
  });

  it('writes at most maxSegments per call and says more is left; leaves rows inside compacted time alone', async () => {
    const van = await createDevice(db.orm, acme);
    const records = makeRecords(van, '2026-04-01T00:00:00.000000Z', 1000, 1);
    await insertRecords(db.pool, van, records);
    const first = await compactDevice(db.pool, van.id, '2027-01-01T00:00:00Z', { maxRecordsPerSegment: 100, maxSegments: 3 });
    assert.deepEqual([first.segments, first.records, first.more], [3, 300, true]);
    // A late record inside the compacted time stays a row: not this function's case.
    await insertRecords(db.pool, van, [{ ts: records[5]!.ts, line: records[5]!.line }]);
    const second = await compactDevice(db.pool, van.id, '2027-01-01T00:00:00Z', { maxRecordsPerSegment: 100, maxSegments: 100 });
    assert.deepEqual([second.segments, second.records, second.more], [7, 700, false]);
    assert.equal(await rowCount(van.id), 1);
    const none = await compactDevice(db.pool, van.id, '2027-01-01T00:00:00Z', { maxRecordsPerSegment: 100, maxSegments: 100 });
    assert.equal(none.segments, 0);
  });

  it('gives back the pages of a month partition compaction emptied, and leaves one with rows alone', async () => {
    const van = await createDevice(db.orm, acme);
    await insertRecords(db.pool, van, makeRecords(van, '2025-07-01T00:00:00.000000Z', 20_000, 1));
    const size = async () => Number((await db.pool.query<{ n: string }>(`select pg_total_relation_size('records_2025m07')::text as n`)).rows[0]!.n);
    assert.equal(await reclaimEmptiedPartition(db.pool, 'records_2025m07'), false);
    const full = await size();
    await compactDevice(db.pool, van.id, '2025-08-01T00:00:00Z', { maxRecordsPerSegment: 10_000, maxSegments: 100 });
    assert.equal(await reclaimEmptiedPartition(db.pool, 'records_2025m07'), true);
    assert.ok((await size()) < full / 20, 'table and indexes down to their empty size');
    await assert.rejects(reclaimEmptiedPartition(db.pool, 'records; drop table x'), /not a records partition/);
  });

  it('a compaction run that leaves nothing behind gives back the pages of the months it emptied, once', async () => {
    const van = await createDevice(db.orm, acme);
    await insertRecords(db.pool, van, makeRecords(van, '2025-05-01T00:00:00.000000Z', 30_000, 1));
    const indexBytes = async () => Number((await db.pool.query<{ n: string }>(`select pg_indexes_size('records_2025m05')::text as n`)).rows[0]!.n);
    const settings = { afterSeconds: 60, maxRecordsPerRun: 10_000_000, maxDevicesPerRun: 1000, budgetMs: 60_000 };
    const full = await indexBytes();
    assert.ok(full > 1024 * 1024, `the month's indexes hold ${full} bytes`);
    const run = await compactDue(db.pool, settings);
    assert.equal(run.more, false);
    assert.ok(run.records >= 30_000);
    assert.ok(run.reclaimed.includes('records_2025m05'), `reclaimed ${run.reclaimed.join(', ')}`);
    assert.ok((await indexBytes()) < full / 20, 'indexes down to their empty size');
    assert.equal(await rowCount(van.id), 0);
    // Nothing left to give back: the next run rebuilds nothing.
    assert.deepEqual((await compactDue(db.pool, settings)).reclaimed, []);
  });
});
