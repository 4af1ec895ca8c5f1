import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';
import copyStreams from 'pg-copy-streams';

import type { Config } from '../../config/config.js';
import type { Database } from '../../db/database.js';
import { transaction } from '../../db/pg-transaction.js';
import type { DeviceDeletedEvent, Queryable } from '../../lib/domain-events.js';
import { AppError, unauthenticated } from '../../lib/errors.js';
import type { Metrics } from '../../lib/metrics.js';
import { microsToIso, nowIso } from '../../lib/time.js';
import { type DeviceEventSignals, triggerVersionSql } from '../announcements/device-event-signals.js';
import type { UploadingDevice } from '../devices/device.service.js';
import { effectiveSettings, type PartialTripSettings } from '../devices/trip-settings.js';
import type { BatchRange, TripDetectionService } from '../trips/trip-detection.service.js';
import { encodeRecordRows, type RecordRow, RECORDS_COPY_IN, storedLineMaker, UNTRUSTED_RECORDS_COPY_IN } from './record-copy.js';
import { type ParsedRecord, parseUpload } from './record-parser.js';

export interface IngestResult {
  readonly stored: number;
  /** The same batch was stored before; nothing was written this time. */
  readonly duplicate: boolean;
  readonly trips: { readonly started: number; readonly ended: number; readonly reopened: number };
}

/** Bytes per write into the COPY stream: few large writes instead of one per record. */
const COPY_CHUNK_BYTES = 256 * 1024;
const NO_PARTITION = '23514';
const DAY_MICROS = 86_400_000_000n;

/**
 * A coordinate in degrees for trip statistics; out of range is no position. Below a nanodegree
 * (0.1 mm) counts as 0: a subnormal like 5e-323 made the distance SQL fail ("value out of
 * range: underflow") on every later upload of the device.
 */
function degrees(v: unknown, limit: number): number | null {
  if (typeof v !== 'number' || !(Math.abs(v) <= limit)) return null;
  return Math.abs(v) < 1e-9 ? 0 : v;
}

function positionOf(record: ParsedRecord): { lat: number | null; lon: number | null } {
  if (record.type !== 'track.pos') return { lat: null, lon: null };
  const loc = record.data['track.pos.loc'] as { lat?: unknown; lon?: unknown } | undefined;
  const lat = degrees(loc?.lat, 90);
  const lon = degrees(loc?.lon, 180);
  return lat === null || lon === null ? { lat: null, lon: null } : { lat, lon };
}

const monthStart = (at: bigint): string => microsToIso(at).slice(0, 7) + '-01T00:00:00.000000Z';

/** The earliest and latest `@ts` of a batch. */
interface Span {
  readonly from: bigint;
  readonly to: bigint;
}

function spanOf(records: readonly ParsedRecord[]): Span {
  let from = records[0]!.at;
  let to = from;
  for (const { at } of records) {
    if (at < from) from = at;
    else if (at > to) to = at;
  }
  return { from, to };
}

/**
 * Record times a device can mean: `[now - max age (or the retention, when shorter), now + ahead]`.
 * Outside it are clocks without a fix (devices log 1970 until GPS sets the time) or worse.
 */
function trustedTimes(config: Pick<Config, 'recordMaxAgeDays' | 'recordMaxAheadSeconds' | 'retentionDays'>): Span {
  const now = BigInt(Date.now()) * 1000n;
  const days = Math.min(config.recordMaxAgeDays, config.retentionDays ?? Infinity);
  return { from: now - BigInt(days) * DAY_MICROS, to: now + BigInt(config.recordMaxAheadSeconds) * 1_000_000n };
}

const within = (span: Span, at: bigint): boolean => at >= span.from && at <= span.to;

/**
 * Stores a device batch whole or not at all, once, runs trip detection on it and announces
 * the records EVENT triggers listen to — all in one transaction holding the device's row lock.
 */
export class IngestService {
  /** Month partitions known to exist; a miss costs one cheap function call. */
  private readonly partitions = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly detection: TripDetectionService,
    private readonly deviceEvents: DeviceEventSignals,
    private readonly metrics: Metrics,
    private readonly config: Pick<
      Config,
      'uploadMaxBytes' | 'uploadMaxRecords' | 'uploadMaxRecordBytes' | 'uploadMaxDepth' | 'recordMaxAgeDays' | 'recordMaxAheadSeconds' | 'retentionDays'
    >,
  ) {}

  /** An upload body as the device sends it (JSON array or JSON Lines, maybe gzip), read as it streams. */
  async upload(device: UploadingDevice, raw: AsyncIterable<Buffer>, contentEncoding: string | undefined): Promise<IngestResult> {
    let result: IngestResult;
    try {
      const { config } = this;
      const limits = { maxBytes: config.uploadMaxBytes, maxRecords: config.uploadMaxRecords, maxRecordBytes: config.uploadMaxRecordBytes, maxDepth: config.uploadMaxDepth };
      const { records, sha256 } = await parseUpload(raw, contentEncoding, limits);
      result = await this.ingest(device, records, sha256);
    } catch (error) {
      if (error instanceof AppError) this.metrics.uploadBatches.inc({ outcome: 'rejected' });
      throw error;
    }
    this.metrics.uploadBatches.inc({ outcome: result.duplicate ? 'duplicate' : 'stored' });
    this.metrics.recordsIngested.inc(result.stored);
    this.metrics.tripsStarted.inc(result.trips.started);
    this.metrics.tripsEnded.inc(result.trips.ended);
    return result;
  }

  /**
   * The `device_deleted` handler: the device's records, which no foreign key ties to it (a
   * partitioned table's rows), go in its transaction; its upload batches follow the device row.
   */
  async onDeviceDeleted(tx: Queryable, event: DeviceDeletedEvent): Promise<void> {
    await tx.query('DELETE FROM records WHERE device_id = $1', [event.deviceId]);
    await tx.query('DELETE FROM records_untrusted_time WHERE device_id = $1', [event.deviceId]);
    await tx.query('DELETE FROM record_segments WHERE device_id = $1', [event.deviceId]);
  }

  /** `batchHash` recognises the same batch sent again. */
  async ingest(device: UploadingDevice, records: readonly ParsedRecord[], batchHash: string): Promise<IngestResult> {
    const span = spanOf(records);
    const trusted = trustedTimes(this.config);
    await this.ensurePartitions(records, span, trusted);
    try {
      return await this.store(device, records, batchHash, span, trusted);
    } catch (error) {
      // A partition dropped by retention since we cached it: recreate and try once more.
      if ((error as { code?: string }).code !== NO_PARTITION) throw error;
      this.partitions.clear();
      await this.ensurePartitions(records, span, trusted);
      return this.store(device, records, batchHash, span, trusted);
    }
  }

  private async store(device: UploadingDevice, records: readonly ParsedRecord[], batchHash: string, span: Span, trusted: Span): Promise<IngestResult> {
    const { result, afterCommit } = await transaction(this.db.pool, async (client) => {
      // One round trip: lock the device row (its batches never interleave), then record the
      // batch's hash; a hash seen before means the device is resending a stored batch.
      const locked = await client.query<{
        customer_id: string;
        name: string;
        trigger_version: string;
        settings: PartialTripSettings;
        template_settings: PartialTripSettings | null;
        last_at: string | null;
        fresh: boolean;
      }>({
        // Named: parsed and planned once per connection, not once per batch.
        name: 'ingest-lock-device',
        text: `WITH locked AS (
           SELECT d.id, d.customer_id, d.name, d.settings, t.settings AS template_settings,
                  (extract(epoch from d.last_event_ts) * 1000000)::bigint AS last_at
             FROM devices d LEFT JOIN templates t ON t.id = d.template_id
            WHERE d.id = $1 FOR UPDATE OF d
         ), batch AS (
           INSERT INTO ingest_batches (device_id, sha256, records) SELECT id, $2, $3 FROM locked
           ON CONFLICT DO NOTHING RETURNING 1
         )
         SELECT customer_id, name, settings, template_settings, last_at, EXISTS (SELECT FROM batch) AS fresh,
                ${triggerVersionSql('locked.customer_id')} AS trigger_version
           FROM locked`,
        values: [device.id, batchHash, records.length],
      });
      const row = locked.rows[0];
      // Deleted between reading its token and locking its row: the token is gone with it.
      if (!row) throw unauthenticated('Invalid device token');
      // A duplicate wrote nothing: the commit only releases the device lock.
      if (!row.fresh) return { result: { stored: 0, duplicate: true, trips: { started: 0, ended: 0, reopened: 0 } }, afterCommit: [] };
      const received = nowIso();
      const range = await this.copyRecords(client, device, records, span, trusted, received);
      // An event at an untrusted time is stored but cuts no trip and fires no trigger: one from
      // the year 9999 would hold back every later event of the device.
      const tagged = records.filter((r) => r.tag !== undefined && within(trusted, r.at));
      const events = tagged.map((r) => ({ at: r.at, tag: r.tag! }));
      const detected = await this.detection.detect(
        client,
        {
          id: device.id,
          customerId: row.customer_id,
          settings: effectiveSettings(row.template_settings, row.settings),
          lastEventAt: row.last_at === null ? null : BigInt(row.last_at),
        },
        events,
        range,
      );
      await this.deviceEvents.fire(
        client,
        { id: device.id, customerId: row.customer_id, unitId: device.unitId, vehicleId: device.vehicleId, name: row.name },
        row.trigger_version,
        tagged,
        storedLineMaker(device, received),
      );
      return {
        result: { stored: records.length, duplicate: false, trips: { started: detected.started, ended: detected.ended, reopened: detected.reopened } },
        afterCommit: detected.afterCommit,
      };
    });
    for (const callback of afterCommit) callback();
    return result;
  }

  /** Stores the rows; answers the trusted part of the batch's span, for trip statistics. */
  private async copyRecords(client: pg.PoolClient, device: UploadingDevice, records: readonly ParsedRecord[], span: Span, trusted: Span, received: string): Promise<BatchRange> {
    const line = storedLineMaker(device, received);
    let hasPositions = false;
    const untrusted: ParsedRecord[] = [];
    function* rows(batch: readonly ParsedRecord[], aside: ParsedRecord[] | undefined): Generator<RecordRow> {
      for (const record of batch) {
        if (aside && !within(trusted, record.at)) {
          aside.push(record);
          continue;
        }
        const { lat, lon } = positionOf(record);
        if (lat !== null && aside) hasPositions = true;
        yield { at: record.at, line: line(record.data), lat, lon };
      }
    }
    const copy = (batch: readonly ParsedRecord[], aside: ParsedRecord[] | undefined, statement: string) =>
      pipeline(Readable.from(encodeRecordRows([{ deviceId: device.id, rows: rows(batch, aside) }], COPY_CHUNK_BYTES)), client.query(copyStreams.from(statement)));
    await copy(records, untrusted, RECORDS_COPY_IN);
    if (untrusted.length) await copy(untrusted, undefined, UNTRUSTED_RECORDS_COPY_IN);
    // A 1970 position would otherwise have every ended trip of the device recomputed.
    const from = span.from > trusted.from ? span.from : trusted.from;
    const to = span.to < trusted.to ? span.to : trusted.to;
    const covers = (start: bigint, end: bigint): boolean => records.some(({ at }) => at >= start && at <= end && within(trusted, at));
    return { from, to, hasPositions: hasPositions && from <= to, covers };
  }

  /**
   * Month partitions for the batch's trusted times; records at other times are kept aside. A
   * batch spread over 25 years made 300 partitions, each a table and two indexes for good.
   */
  private async ensurePartitions(records: readonly ParsedRecord[], span: Span, trusted: Span): Promise<void> {
    // A batch nearly always lies in one month; only one that spans more looks at every record.
    const first = monthStart(span.from);
    const months =
      first === monthStart(span.to) && within(trusted, span.from) && within(trusted, span.to)
        ? [first]
        : new Set(records.filter((r) => within(trusted, r.at)).map((r) => monthStart(r.at)));
    for (const month of months) {
      if (this.partitions.has(month)) continue;
      // Outside the upload transaction: creating a partition locks the parent table briefly.
      await this.db.pool.query('SELECT ensure_records_partition($1)', [month]);
      this.partitions.add(month);
    }
  }
}
