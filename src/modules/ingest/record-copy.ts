/**
 * The one stored form of a record, shared by uploads and anything else that fills the table
 * (benchmarks): the exact export line plus the columns exports and trip statistics read.
 */

/** COPY's CSV format with quote and delimiter bytes that JSON never contains unescaped. */
export const RECORDS_COPY_IN = `COPY records (device_id, ts, line, lat, lon) FROM STDIN WITH (FORMAT csv, DELIMITER e'\\x02', QUOTE e'\\x01')`;
const SEP = '\x02';

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

/** One row of {@link RECORDS_COPY_IN}; `ts` canonical ISO, position only for `track.pos`. */
export const copyRow = (deviceId: string, ts: string, line: string, lat: number | null, lon: number | null): string =>
  `${deviceId}${SEP}${ts}${SEP}${line}${SEP}${lat ?? ''}${SEP}${lon ?? ''}\n`;
