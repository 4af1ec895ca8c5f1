/**
 * The one stored form of a record, shared by uploads and anything else that fills the table
 * (benchmarks): the exact export line plus the columns exports and trip statistics read.
 */

/** COPY's CSV format with quote and delimiter bytes that JSON never contains unescaped. */
export const RECORDS_COPY_IN = `COPY records (device_id, ts, line, lat, lon) FROM STDIN WITH (FORMAT csv, DELIMITER e'\\x02', QUOTE e'\\x01')`;
const SEP = '\x02';

/** The line an export writes for a record: as the device sent it, the server's fields winning. */
export const storedLine = (data: Record<string, unknown>, device: { readonly unitId: string; readonly vehicleId: number }, received: string): string =>
  JSON.stringify({ ...data, '@uid': device.unitId, '@vid': device.vehicleId, '@rec': received });

/** One row of {@link RECORDS_COPY_IN}; `ts` canonical ISO, position only for `track.pos`. */
export const copyRow = (deviceId: string, ts: string, line: string, lat: number | null, lon: number | null): string =>
  `${deviceId}${SEP}${ts}${SEP}${line}${SEP}${lat ?? ''}${SEP}${lon ?? ''}\n`;
