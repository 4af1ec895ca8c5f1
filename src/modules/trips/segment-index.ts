import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * What a compressed record segment keeps queryable besides its lines (`record_segments.positions`):
 * every record's `@ts` in line order, and its `track.pos` position (NaN where it has none), as
 * the rows' `ts`, `lat` and `lon` columns held them. Trip statistics and tracks read positions
 * from it, trip detection the newest time before an event, the compactor pairs each line with
 * its time when late rows are merged in, and expanding gives the rows back their columns.
 *
 * Format: version byte 1, record count (u32 LE), then raw deflate of three columns, each
 * byte-shuffled (byte 0 of every value, then byte 1, ...): `@ts` deltas in microseconds (int64
 * LE, the first from 0), lat and lon (float64 LE). Shuffled, the slowly changing high bytes of
 * neighbouring values sit together and deflate to little; NaN runs cost nearly nothing.
 */
export interface SegmentIndex {
  /** Microseconds since the epoch, ascending. */
  readonly ts: BigInt64Array;
  readonly lat: Float64Array;
  readonly lon: Float64Array;
}

const VERSION = 1;
const HEADER = 5;

/** Byte `b` of value `i` goes to `b * n + i`; `unshuffle` is its inverse. */
function shuffle(source: Uint8Array, target: Uint8Array, offset: number): void {
  const n = source.length / 8;
  for (let i = 0; i < n; i++) for (let b = 0; b < 8; b++) target[offset + b * n + i] = source[i * 8 + b]!;
}

function unshuffle(source: Uint8Array, offset: number, target: Uint8Array): void {
  const n = target.length / 8;
  for (let i = 0; i < n; i++) for (let b = 0; b < 8; b++) target[i * 8 + b] = source[offset + b * n + i]!;
}

const bytes = (array: BigInt64Array | Float64Array): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

export function encodeSegmentIndex(index: SegmentIndex): Buffer {
  const n = index.ts.length;
  if (index.lat.length !== n || index.lon.length !== n) throw new RangeError('segment index columns differ in length');
  const deltas = new BigInt64Array(n);
  let previous = 0n;
  for (let i = 0; i < n; i++) {
    deltas[i] = index.ts[i]! - previous;
    previous = index.ts[i]!;
  }
  const columns = new Uint8Array(n * 24);
  shuffle(bytes(deltas), columns, 0);
  shuffle(bytes(index.lat), columns, n * 8);
  shuffle(bytes(index.lon), columns, n * 16);
  const header = Buffer.alloc(HEADER);
  header.writeUInt8(VERSION, 0);
  header.writeUInt32LE(n, 1);
  return Buffer.concat([header, deflateRawSync(columns)]);
}

export function decodeSegmentIndex(data: Buffer): SegmentIndex {
  if (data.length < HEADER || data.readUInt8(0) !== VERSION) throw new RangeError('not a segment index');
  const n = data.readUInt32LE(1);
  const columns = inflateRawSync(data.subarray(HEADER));
  if (columns.length !== n * 24) throw new RangeError('segment index length does not match its count');
  const ts = new BigInt64Array(n);
  const lat = new Float64Array(n);
  const lon = new Float64Array(n);
  unshuffle(columns, 0, bytes(ts));
  unshuffle(columns, n * 8, bytes(lat));
  unshuffle(columns, n * 16, bytes(lon));
  let sum = 0n;
  for (let i = 0; i < n; i++) {
    sum += ts[i]!;
    ts[i] = sum;
  }
  return { ts, lat, lon };
}

/** Builds an index one record at a time, in line order; `null` coordinates are no position. */
export class SegmentIndexBuilder {
  private ts: bigint[] = [];
  private lat: number[] = [];
  private lon: number[] = [];

  get length(): number {
    return this.ts.length;
  }

  add(ts: bigint, lat: number | null, lon: number | null): void {
    this.ts.push(ts);
    const has = lat !== null && lon !== null;
    this.lat.push(has ? lat : NaN);
    this.lon.push(has ? lon : NaN);
  }

  build(): SegmentIndex {
    return { ts: BigInt64Array.from(this.ts), lat: Float64Array.from(this.lat), lon: Float64Array.from(this.lon) };
  }

  encode(): Buffer {
    return encodeSegmentIndex(this.build());
  }
}
