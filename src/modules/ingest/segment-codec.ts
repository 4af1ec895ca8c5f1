/**
 * The on-disk form of a record segment (format: ./segments.md) and the pieces that join
 * segments into one gzip member. Pure: bytes in, bytes out.
 */
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';

import { isoToMicros } from '../../lib/time.js';

const deflateRawAsync = promisify(deflateRaw);
const NEWLINE = 0x0a;

/** Deflate level of stored segments: compressed once, copied into every export after. */
export const SEGMENT_LEVEL = 6;

export interface EncodedSegment {
  /** Raw deflate, no dictionary, ending byte-aligned (full flush) and not final. */
  readonly data: Buffer;
  /** CRC-32 of the lines, each with its '\n' (unsigned). */
  readonly crc32: number;
  /** Bytes of the lines, each with its '\n'. */
  readonly rawLength: number;
  readonly recordCount: number;
}

/**
 * A full flush, not a finish: the stream ends on a byte boundary with no final block, so it
 * can be followed by any other deflate bytes in the same stream. No dictionary: a segment is
 * decodable on its own, whatever stands before it in a file.
 */
const SEGMENT_DEFLATE = { finishFlush: constants.Z_FULL_FLUSH } as const;

/** Encodes lines (without their '\n') in the order given. */
export function encodeSegment(lines: Iterable<Buffer>, level = SEGMENT_LEVEL): EncodedSegment {
  const parts: Buffer[] = [];
  for (const line of lines) parts.push(line, NEWLINE_BYTE);
  const raw = Buffer.concat(parts);
  return { data: deflateRawSync(raw, { ...SEGMENT_DEFLATE, level }), crc32: crc32(raw), rawLength: raw.length, recordCount: parts.length / 2 };
}
const NEWLINE_BYTE = Buffer.from([NEWLINE]);

/** {@link encodeSegment} of lines already joined, each ending in '\n', on the thread pool. */
export async function deflateSegment(raw: Buffer, recordCount: number, level = SEGMENT_LEVEL): Promise<EncodedSegment> {
  const data = await deflateRawAsync(raw, { ...SEGMENT_DEFLATE, level });
  return { data, crc32: crc32(raw), rawLength: raw.length, recordCount };
}

/** The lines of a segment, each ending in '\n'. */
export function decodeSegment(data: Buffer): Buffer {
  // The stream has no final block: a sync flush lets inflate end without asking for one.
  return inflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
}

/** A stored line does not hold the `@ts` it was stored under. */
export class SegmentLineError extends Error {
  override readonly name = 'SegmentLineError';
}

/**
 * The `@ts` of a stored line in microseconds, read the way ingest read it when it stored the
 * line (`records.ts`): segments keep no time per line, and an export that cuts a segment or
 * merges late rows into it needs one.
 */
export function lineMicros(line: Buffer): bigint {
  const ts = (JSON.parse(line.toString('utf8')) as { '@ts'?: unknown })['@ts'];
  const at = typeof ts === 'string' ? isoToMicros(ts) : undefined;
  if (at === undefined) throw new SegmentLineError(`a stored line has no valid "@ts": ${line.subarray(0, 80).toString()}`);
  return at;
}

/** Where each line of decoded segment text starts; `starts[n]` is the text's length. */
export function lineStarts(text: Buffer): Uint32Array {
  let count = 0;
  for (let at = text.indexOf(NEWLINE); at !== -1; at = text.indexOf(NEWLINE, at + 1)) count++;
  const starts = new Uint32Array(count + 1);
  let n = 0;
  for (let at = text.indexOf(NEWLINE); at !== -1; at = text.indexOf(NEWLINE, at + 1)) starts[++n] = at + 1;
  return starts;
}

// --- CRC-32 combination (zlib's crc32_combine, which node:zlib does not expose) -------------

/** The CRC-32 polynomial, reflected. */
const POLY = 0xedb88320;

/** a(x) * b(x) modulo p(x), in the reflected bit order CRC-32 uses. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^n) modulo p(x), for n = 0..31. */
const X2N = (() => {
  const table = new Array<number>(32);
  let p = 0x40000000; // x^1
  table[0] = p;
  for (let n = 1; n < 32; n++) table[n] = p = multModP(p, p);
  return table;
})();

/** x^(n * 2^k) modulo p(x). */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** The CRC-32 of A followed by B, from the CRC-32 of A, that of B and the length of B. */
export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  return (multModP(x2nModP(length2, 3), crc1 >>> 0) ^ crc2) >>> 0;
}

// --- One gzip member out of deflate pieces (RFC 1952) ----------------------------------------

/** Magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * An empty final block (fixed Huffman: BFINAL 1, BTYPE 01, end-of-block): ends a deflate stream
 * whose pieces each ended byte-aligned with a sync or full flush.
 */
export const DEFLATE_FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** Deflate bytes that end byte-aligned, not final, with what they inflate to. */
export interface DeflatePiece {
  readonly data: Buffer;
  readonly crc32: number;
  readonly rawLength: number;
}

/** The CRC-32 and length of the data so far, as the gzip trailer needs them. */
export class GzipTotals {
  crc = 0;
  length = 0;

  /** Bytes compressed here: their CRC is computed. */
  addRaw(raw: Buffer): void {
    this.crc = crc32(raw, this.crc);
    this.length += raw.length;
  }

  /** A piece whose CRC is known: combined, not recomputed. */
  addPiece(piece: Pick<DeflatePiece, 'crc32' | 'rawLength'>): void {
    this.crc = crc32Combine(this.crc, piece.crc32, piece.rawLength);
    this.length += piece.rawLength;
  }

  /** CRC-32 and length modulo 2^32, little-endian. */
  trailer(): Buffer {
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.length % 2 ** 32, 4);
    return trailer;
  }
}

/** A whole gzip member of pieces, in memory: for tests and small files. */
export function gzipMemberOf(pieces: readonly DeflatePiece[]): Buffer {
  const totals = new GzipTotals();
  for (const piece of pieces) totals.addPiece(piece);
  return Buffer.concat([GZIP_HEADER, ...pieces.map((p) => p.data), DEFLATE_FINAL_BLOCK, totals.trailer()]);
}
