/**
 * The one stored form of a record, shared by uploads and anything else that fills the table
 * (benchmarks): the exact export line plus the columns exports and trip statistics read.
 */
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER, PG_EPOCH_MICROS } from '../../db/binary-copy.js';

/**
 * COPY's binary format: PostgreSQL reads each value as it is stored (a uuid's 16 bytes, a
 * timestamp's microseconds, a float's 8 bytes, the line's bytes) instead of parsing and
 * scanning text for each column of each row.
 */
export const RECORDS_COPY_IN = `COPY records (device_id, ts, line, lat, lon) FROM STDIN (FORMAT binary)`;
/** The same rows at times no device clock with a fix logs: kept aside, in no partition, in no trip. */
export const UNTRUSTED_RECORDS_COPY_IN = `COPY records_untrusted_time (device_id, ts, line, lat, lon) FROM STDIN (FORMAT binary)`;

/**
 * Makes the lines an export writes for one device's records received at one time: each record
 * as the device sent it, with `@uid`, `@vid` and `@rec` appended. The server's fields win: a
 * record that carries one of them keeps its key position with the server's value (the rare,
 * slower path; the usual one splices a suffix computed once per batch).
 */
export function storedLineMaker(device: { readonly unitId: string; readonly vehicleId: number }, received: string): (data: Record<string, unknown>) => string {
  const server = { '@uid': device.unitId, '@vid': device.vehicleId, '@rec': received };
  const suffix = `,${JSON.stringify(server).slice(1)}`;
  return (data) => {
    if (Object.hasOwn(data, '@uid') || Object.hasOwn(data, '@vid') || Object.hasOwn(data, '@rec')) return JSON.stringify({ ...data, ...server });
    const json = JSON.stringify(data);
    return json === '{}' ? JSON.stringify(server) : `${json.slice(0, -1)}${suffix}`;
  };
}

/** One row of {@link RECORDS_COPY_IN}: `at` in microseconds since 1970, a position only for `track.pos`. */
export interface RecordRow {
  readonly at: bigint;
  readonly line: string;
  readonly lat: number | null;
  readonly lon: number | null;
}

const COLUMNS = 5;
/** Field count, then each field's length and fixed-size values: everything but the line's bytes. */
const ROW_OVERHEAD = 2 + (4 + 16) + (4 + 8) + 4 + 2 * (4 + 8);

/** Rows of one device. */
export interface DeviceRows {
  readonly deviceId: string;
  readonly rows: Iterable<RecordRow>;
}

/**
 * Encodes devices' rows as one whole binary COPY stream (header, rows, trailer) straight into
 * buffers of about `chunkBytes`, a row never split across two.
 */
export function* encodeRecordRows(devices: Iterable<DeviceRows>, chunkBytes: number): Generator<Buffer> {
  let buffer = Buffer.allocUnsafe(chunkBytes);
  let used = BINARY_COPY_HEADER.copy(buffer, 0);
  for (const { deviceId, rows } of devices) {
    const device = Buffer.from(deviceId.replaceAll('-', ''), 'hex');
    if (device.length !== 16) throw new Error(`not a uuid: ${deviceId}`);
    for (const row of rows) {
      // A UTF-16 code unit never takes more than 3 bytes of UTF-8.
      const most = ROW_OVERHEAD + row.line.length * 3;
      if (buffer.length - used < most) {
        if (used > 0) yield buffer.subarray(0, used);
        buffer = Buffer.allocUnsafe(Math.max(chunkBytes, most));
        used = 0;
      }
      used = buffer.writeInt16BE(COLUMNS, used);
      used = buffer.writeInt32BE(16, used);
      used += device.copy(buffer, used);
      used = buffer.writeInt32BE(8, used);
      used = buffer.writeBigInt64BE(row.at - PG_EPOCH_MICROS, used);
      const length = buffer.write(row.line, used + 4);
      buffer.writeInt32BE(length, used);
      used += 4 + length;
      used = float8(buffer, used, row.lat);
      used = float8(buffer, used, row.lon);
    }
  }
  if (buffer.length - used < BINARY_COPY_TRAILER.length) {
    yield buffer.subarray(0, used);
    buffer = Buffer.allocUnsafe(BINARY_COPY_TRAILER.length);
    used = 0;
  }
  used += BINARY_COPY_TRAILER.copy(buffer, used);
  yield buffer.subarray(0, used);
}

function float8(buffer: Buffer, at: number, value: number | null): number {
  if (value === null) return buffer.writeInt32BE(-1, at);
  return buffer.writeDoubleBE(value, buffer.writeInt32BE(8, at));
}
