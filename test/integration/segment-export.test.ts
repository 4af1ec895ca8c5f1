import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { loadConfig } from '../../src/config/config.js';
import { microsToIso } from '../../src/lib/time.js';
import { NoRecordsError, writeExport } from '../../src/modules/exports/export-writer.js';
import { compactDevice } from '../../src/modules/ingest/compactor.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { addSeconds, insertRecords, makeRecords, type StoredRecord } from '../factories/trips.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';

const config = loadConfig({ LOG_LEVEL: 'silent', JWT_SECRET: 'test-secret-test-secret-test-secret-0123' });
const START = '2026-05-04T06:00:00.000000Z';
const micros = (ts: string): bigint => BigInt(Date.parse(ts)) * 1000n + BigInt(ts.slice(23, 26));

/** What a single-member gzip reader (python's zlib with wbits 31) makes of the file. */
function pythonDecompress(gz: Buffer): string {
  const run = spawnSync('python3', ['-c', 'import sys, zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), 31))'], { input: gz, maxBuffer: 1 << 28 });
  assert.equal(run.status, 0, run.stderr.toString());
  return run.stdout.toString();
}

/**
 * The same records under two devices: `truth` is never compacted (the row-based export, as
 * before segments), `packed` is. Every export of `packed` must decompress to exactly the text
 * the same trip of `truth` gives.
 */
describe('exports from record segments are the row-based export byte for byte (real PostgreSQL)', () => {
  const exportDir = path.join(tmpdir(), `segment-export-${process.pid}`);
  let db: TestDatabase;
  let acme: TestCustomer;
  let truth: TestDevice;
  let packed: TestDevice;
  let records: StoredRecord[];

  before(async () => {
    db = await createTestDatabase();
    acme = await createCustomer(db.orm, config);
    truth = await createDevice(db.orm, acme);
    packed = await createDevice(db.orm, acme);
    records = makeRecords(truth, START, 4000, 0.25, 30);
    // Ties in @ts with other lines, and the very same line stored twice.
    for (let i = 0; i < 200; i++) {
      const r = records[randomInt(records.length)]!;
      records.push(i % 3 === 0 ? r : { ts: r.ts, line: r.line.replace('"obd.rpm.value":', `"x":${randomInt(9)},"obd.rpm.value":`) });
    }
    await store(records);
  });
  after(async () => {
    await db.drop();
    await rm(exportDir, { recursive: true, force: true });
  });

  const store = async (rows: StoredRecord[]) => {
    await insertRecords(db.pool, truth, rows);
    await insertRecords(db.pool, packed, rows);
  };

  const exported = async (device: TestDevice, startTs: string, endTs: string) => {
    const tripId = randomUUID();
    const result = await writeExport(
      db.pool,
      { tripId, deviceId: device.id, startTs, endTs, header: JSON.stringify({ id: 'trip', start_time_utc: startTs }) },
      { exportDir, gzipLevel: 6, signal: new AbortController().signal },
    );
    const gz = await readFile(path.join(exportDir, result.path));
    await rm(path.join(exportDir, tripId), { recursive: true, force: true });
    return { result, gz, text: gunzipSync(gz).toString() };
  };

  /** Random trips, their edges on a record's time, between two, or outside all data. */
  const randomTrips = (n: number): [string, string][] => {
    const last = micros(records.at(-1)!.ts) > micros(START) + 1_100_000_000n ? records.at(-1)!.ts : addSeconds(START, 1100);
    const span = Number(micros(last) - micros(START)) / 1e6;
    const edge = (): string => {
      const pick = randomInt(4);
      if (pick === 0) return records[randomInt(records.length)]!.ts;
      if (pick === 1) return addSeconds(START, -5 + Math.random() * (span + 10));
      return addSeconds(START, Math.round(Math.random() * span * 4) / 4);
    };
    return Array.from({ length: n }, () => {
      const [a, b] = [edge(), edge()].sort();
      return [a!, b!];
    });
  };

  /**
   * The stored bytes of the packed device's segments that must be copied into an export of
   * `[startTs, endTs]`: those wholly inside it with no row in their time (a row there, late data,
   * makes the export merge and compress that stretch afresh).
   */
  const mustCopy = async (startTs: string, endTs: string): Promise<Buffer[]> => {
    const { rows } = await db.pool.query<{ data: Buffer }>(
      `select s.data from record_segments s
        where s.device_id = $1 and s.first_ts >= $2::timestamptz and s.last_ts <= $3::timestamptz
          and not exists (select from records r where r.device_id = s.device_id and r.ts between s.first_ts and s.last_ts)`,
      [packed.id, startTs, endTs],
    );
    return rows.map((r) => r.data);
  };

  /** Compares each trip's export of `packed` with `truth`'s; answers how many segments were copied. */
  const compareTrips = async (trips: [string, string][]): Promise<number> => {
    let copied = 0;
    for (const [startTs, endTs] of trips) {
      const want = await exported(truth, startTs, endTs).catch((e: unknown) => e as Error);
      const got = await exported(packed, startTs, endTs).catch((e: unknown) => e as Error);
      if (want instanceof NoRecordsError) {
        assert.ok(got instanceof NoRecordsError, `${startTs} - ${endTs}: no records either way`);
        continue;
      }
      if (want instanceof Error) throw want;
      if (got instanceof Error) throw got;
      assert.equal(got.text, want.text, `${startTs} - ${endTs}: the same lines in the same order`);
      assert.deepEqual(
        [got.result.records, got.result.firstTs, got.result.lastTs],
        [want.result.records, want.result.firstTs, want.result.lastTs],
        `${startTs} - ${endTs}: the same counts`,
      );
      const segments = await mustCopy(startTs, endTs);
      assert.ok(
        segments.every((data) => got.gz.includes(data)),
        `${startTs} - ${endTs}: every segment wholly inside the trip with no row in its time is in the file as stored`,
      );
      copied += segments.length;
    }
    return copied;
  };

  it('a segment wholly inside the trip is copied as stored, and any reader reads one gzip member', async () => {
    const outcome = await compactDevice(db.pool, packed.id, addSeconds(START, 700), { maxRecordsPerSegment: 300, maxSegments: 1000, maxSegmentBytes: 32 * 1024 });
    assert.ok(outcome.segments > 5);
    const all = await exported(packed, addSeconds(START, -1), addSeconds(START, 2000));
    const { rows } = await db.pool.query<{ data: Buffer }>('select data from record_segments where device_id = $1 order by first_ts', [packed.id]);
    assert.ok(
      rows.every((r) => all.gz.includes(r.data)),
      'every stored segment is in the file byte for byte',
    );
    assert.equal(pythonDecompress(all.gz), all.text);
    assert.equal(all.text, (await exported(truth, addSeconds(START, -1), addSeconds(START, 2000))).text);
  });

  it('random trips over compacted and uncompacted time give the row-based text and counts', async () => {
    await compareTrips(randomTrips(40));
    // The whole time: every segment lies inside it, and no row is late yet.
    assert.ok((await compareTrips([[addSeconds(START, -10), addSeconds(START, 3000)]])) > 5);
  });

  it('late rows inside compacted time, ties and duplicates included, are merged in order', async () => {
    const late: StoredRecord[] = [];
    for (let i = 0; i < 60; i++) {
      const r = records[randomInt(records.length)]!;
      const kind = i % 4;
      if (kind === 0)
        late.push(r); // the same line again
      else if (kind === 1) late.push({ ts: r.ts, line: r.line.replace('"obd.rpm"', '"obd.rpm.late"') });
      else if (kind === 2) late.push({ ts: r.ts, line: r.line.replace('{', '{"a":0,') });
      else {
        const ts = addSeconds(r.ts, 0.1);
        late.push({ ts, line: r.line.replace(r.ts, ts) });
      }
    }
    await store(late);
    records.push(...late);
    await compareTrips(randomTrips(30));
    // A whole export, edges beyond the data.
    await compareTrips([[addSeconds(START, -10), addSeconds(START, 3000)]]);
  });

  it('compacting again after late rows and more data keeps the exports unchanged', async () => {
    const more = makeRecords(truth, addSeconds(START, 1000.1), 500, 0.5);
    await store(more);
    records.push(...more);
    await compactDevice(db.pool, packed.id, addSeconds(START, 2000), { maxRecordsPerSegment: 250, maxSegments: 1000 });
    await compareTrips(randomTrips(20));
    await assert.rejects(exported(packed, addSeconds(START, -100), addSeconds(START, -50)), NoRecordsError);
  });

  it('reports the last record exactly when it ends a segment', async () => {
    const { rows } = await db.pool.query<{ last: string }>(
      `select (extract(epoch from last_ts) * 1000000)::bigint::text as last from record_segments where device_id = $1 order by first_ts limit 1`,
      [packed.id],
    );
    const last = microsToIso(BigInt(rows[0]!.last));
    await compareTrips([[START, last]]);
  });
});
