/**
 * Record segments (issue 16): a noisy trip's storage as rows and as segments, its exports
 * before and after compaction (first in a fresh process, and warm), and the compaction rate.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import copyStreams from 'pg-copy-streams';

import { nowIso } from '../../src/lib/time.js';
import { compactDevice, reclaimEmptiedPartition } from '../../src/modules/ingest/compactor.js';
import { encodeRecordRows, type RecordRow, RECORDS_COPY_IN, storedLineMaker } from '../../src/modules/ingest/record-copy.js';
import { deviceRecords } from '../../src/sim/fleet-data.js';
import { createRandom } from '../../src/sim/random.js';
import type { BenchContext } from '../context.js';
import { fmt, stats, table } from '../harness.js';
import { type ExportRuns, runServiceExports, storeTrip } from './export.js';

export interface SegmentsFigures {
  readonly records: number;
  readonly jsonBytes: number;
  readonly rowsBytes: number;
  readonly segmentsBytes: number;
  readonly leftRowsBytes: number;
  /** The emptied partition before its indexes were rebuilt. */
  readonly residueBytes: number;
  readonly segments: number;
  readonly compactSeconds: number;
  readonly before: ExportRuns;
  readonly after: ExportRuns;
  readonly fleet: FleetFigures;
}

/** The fleet simulator's records of one vehicle's working day, as rows and as segments. */
interface FleetFigures {
  readonly records: number;
  readonly jsonBytes: number;
  readonly rowsBytes: number;
  readonly segmentsBytes: number;
}

async function fleetDay(ctx: BenchContext): Promise<FleetFigures> {
  const start = '2026-11-02T06:00:00.000000Z';
  const partition = (await ctx.db.pool.query<{ name: string }>('select ensure_records_partition($1) as name', [start])).rows[0]!.name;
  const device = await ctx.newDevice();
  const line = storedLineMaker(device, nowIso());
  let records = 0;
  let jsonBytes = 0;
  function* rows(): Generator<RecordRow> {
    const day = deviceRecords({ startMicros: Date.parse(start) * 1000, seconds: 10 * 3600, random: createRandom(16), home: { lat: 56.15, lon: 10.2 } });
    for (const { at, record } of day) {
      const text = line(record);
      const loc = record['track.pos.loc'] as { lat: number; lon: number } | undefined;
      records += 1;
      jsonBytes += Buffer.byteLength(text) + 1;
      yield { at: BigInt(at), line: text, lat: loc?.lat ?? null, lon: loc?.lon ?? null };
    }
  }
  const client = await ctx.db.pool.connect();
  try {
    await pipeline(Readable.from(encodeRecordRows([{ deviceId: device.id, rows: rows() }], 1 << 20)), client.query(copyStreams.from(RECORDS_COPY_IN)));
  } finally {
    client.release();
  }
  const before = await sizes(ctx, partition);
  for (let more = true; more;) {
    more = (await compactDevice(ctx.db.pool, device.id, '2027-01-01T00:00:00Z', { maxRecordsPerSegment: 10_000, maxSegments: 50 })).more;
  }
  await reclaimEmptiedPartition(ctx.db.pool, partition);
  const after = await sizes(ctx, partition);
  return { records, jsonBytes, rowsBytes: before.rows, segmentsBytes: after.segments - before.segments + after.rows };
}

/** Table, TOAST and indexes of the trip's month partition of `records` and of `record_segments`. */
async function sizes(ctx: BenchContext, partition: string): Promise<{ rows: number; segments: number }> {
  await ctx.db.pool.query('VACUUM ANALYZE records');
  await ctx.db.pool.query('VACUUM ANALYZE record_segments');
  const { rows } = await ctx.db.pool.query<{ rows: string; segments: string }>(
    `select pg_total_relation_size($1::regclass)::text as rows, pg_total_relation_size('record_segments')::text as segments`,
    [partition],
  );
  return { rows: Number(rows[0]!.rows), segments: Number(rows[0]!.segments) };
}

/** Runs in a database of its own (the bench's), where this trip is the only data. */
export async function segmentsScenario(ctx: BenchContext, records: number, exportDir: string, level: number, runs: number): Promise<SegmentsFigures> {
  // A month no other scenario writes to: the partition's size is this trip's.
  const start = '2026-12-07T06:00:00.000000Z';
  const trip = await storeTrip(ctx, start, records, true);
  const partition = (await ctx.db.pool.query<{ name: string }>('select ensure_records_partition($1) as name', [start])).rows[0]!.name;
  const { rows } = await ctx.db.pool.query<{ bytes: string }>('select sum(octet_length(line) + 1)::text as bytes from records where device_id = $1', [trip.deviceId]);
  const jsonBytes = Number(rows[0]!.bytes);
  const rowsBefore = await sizes(ctx, partition);
  const before = await runServiceExports(ctx, trip, exportDir, level, runs);
  const started = performance.now();
  let segments = 0;
  for (let more = true; more;) {
    const outcome = await compactDevice(ctx.db.pool, trip.deviceId, '2027-01-01T00:00:00Z', { maxRecordsPerSegment: 10_000, maxSegments: 50 });
    segments += outcome.segments;
    more = outcome.more;
  }
  const compactSeconds = (performance.now() - started) / 1000;
  const residue = await sizes(ctx, partition);
  if (!(await reclaimEmptiedPartition(ctx.db.pool, partition))) throw new Error(`${partition} still holds rows`);
  const stored = await sizes(ctx, partition);
  const after = await runServiceExports(ctx, trip, exportDir, level, runs);
  const fleet = await fleetDay(ctx);
  return {
    fleet,
    records,
    jsonBytes,
    rowsBytes: rowsBefore.rows,
    segmentsBytes: stored.segments - rowsBefore.segments,
    leftRowsBytes: stored.rows,
    residueBytes: residue.rows,
    segments,
    compactSeconds,
    before,
    after,
  };
}

export function segmentsReport(f: SegmentsFigures, uploadRate: number | undefined): string {
  const ratio = (bytes: number): string => `${(bytes / f.jsonBytes).toFixed(3)}×`;
  const warm = (runs: ExportRuns) => stats(runs.seconds.map((s) => s * 1000));
  const [b, a] = [warm(f.before), warm(f.after)];
  const rate = f.records / f.compactSeconds;
  return (
    `### Record segments (one noisy trip of ${f.records.toLocaleString()} records, ${fmt.mb(f.jsonBytes)} of JSON Lines)\n\n` +
    table(
      ['measure', 'rows (before compaction)', 'segments (after)', 'target'],
      [
        [
          'storage (table, TOAST, indexes) ÷ JSON Lines',
          ratio(f.rowsBytes),
          `${ratio(f.segmentsBytes + f.leftRowsBytes)} (${f.segments} segments ${fmt.mb(f.segmentsBytes)}, rows left ${fmt.mb(f.leftRowsBytes)})`,
          '≤ 0.20×',
        ],
        ['bytes per record', (f.rowsBytes / f.records).toFixed(1), ((f.segmentsBytes + f.leftRowsBytes) / f.records).toFixed(1), ''],
        ['warm re-export (median, min-max)', `${fmt.s(b.median)} (${fmt.s(b.min)}-${fmt.s(b.max)})`, `${fmt.s(a.median)} (${fmt.s(a.min)}-${fmt.s(a.max)})`, '≤ 0.4 s'],
        ['first export in a fresh process', fmt.s(f.before.firstSeconds * 1000), fmt.s(f.after.firstSeconds * 1000), '≤ 0.6 s'],
        ['export file', `${fmt.mb(f.before.bytes)} (${ratio(f.before.bytes)})`, `${fmt.mb(f.after.bytes)} (${ratio(f.after.bytes)})`, ''],
        ['peak RSS of the export process', fmt.mb(f.before.maxRssBytes), fmt.mb(f.after.maxRssBytes), '< 150 MB'],
      ],
    ) +
    `\n\nThe month's partition, emptied by compaction, held ${fmt.mb(f.residueBytes)} (${ratio(f.residueBytes)}) of index pages after VACUUM, ` +
    `until reclaimEmptiedPartition rebuilt its indexes (REINDEX CONCURRENTLY); the figures after compaction are taken after that.` +
    `\n\nCompaction: ${fmt.s(f.compactSeconds * 1000)} for ${f.records.toLocaleString()} records, ${fmt.rate(rate)}` +
    (uploadRate ? ` against uploads at ${fmt.rate(uploadRate)} in this run (${fmt.ratio(rate / uploadRate)}; target ≥ 2×).` : '.') +
    `\n\nThe fleet simulator's data (one vehicle, 10 hours of drives and stops, ${f.fleet.records.toLocaleString()} records, ` +
    `${(f.fleet.jsonBytes / f.fleet.records).toFixed(1)} bytes of JSON a record): ${(f.fleet.rowsBytes / f.fleet.records).toFixed(1)} bytes a record as rows, ` +
    `${(f.fleet.segmentsBytes / f.fleet.records).toFixed(1)} as segments (${(f.fleet.segmentsBytes / f.fleet.jsonBytes).toFixed(3)}× its JSON Lines).`
  );
}
