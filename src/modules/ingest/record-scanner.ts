/**
 * Follows the records of an upload while its bytes arrive (a JSON array of records or JSON
 * Lines) to hold the limits before anything is parsed: the record count, one record's bytes and
 * its nesting depth are checked byte by byte, where JSON.parse of the whole body first built all
 * of it (3,000,000 tiny records: seconds of a blocked event loop and a gigabyte of memory). Only
 * framing is followed here (strings, brackets, commas, newlines); JSON.parse stays the judge of
 * syntax, once the body is known to be within the limits (one parse of the whole body costs a
 * third of a thousand small ones).
 */
import { AppError, invalidInput } from '../../lib/errors.js';

export interface ScanLimits {
  readonly maxRecords: number;
  /** Bytes of one record's JSON text. */
  readonly maxRecordBytes: number;
  /** Objects and arrays inside one another in one record, the record itself counting 1. */
  readonly maxDepth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Bytes that matter outside strings, and inside them. */
const STRUCTURAL = new Uint8Array(256);
for (const c of [QUOTE, COMMA, NEWLINE, OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT, CLOSE_OBJECT]) STRUCTURAL[c] = 1;
const IN_STRING = new Uint8Array(256);
for (const c of [QUOTE, BACKSLASH, NEWLINE]) IN_STRING[c] = 1;

const isSpace = (c: number): boolean => c === 0x20 || c === NEWLINE || c === 0x0d || c === 0x09;

/** Where the scanner is between records. */
type Between = 'body-start' | 'array-start' | 'after-comma' | 'after-array' | 'line-start';

export class RecordScanner {
  private mode: 'unknown' | 'array' | 'lines' = 'unknown';
  private between: Between = 'body-start';
  private inRecord = false;
  private inString = false;
  private escaped = false;
  private depth = 0;
  /** Earlier chunks' bytes of the record being read. */
  private partBytes = 0;
  private count = 0;
  private started = false;

  constructor(private readonly limits: ScanLimits) {}

  push(chunk: Buffer): void {
    let i = this.skipBom(chunk);
    let from = this.inRecord ? i : -1;
    const n = chunk.length;
    let lines = this.mode === 'lines';
    while (i < n) {
      if (!this.inRecord) {
        i = this.betweenRecords(chunk, i);
        if (this.inRecord) from = i;
        lines = this.mode === 'lines';
        continue;
      }
      if (this.inString) {
        i = this.skipString(chunk, i, lines);
        continue;
      }
      // Names, numbers, colons and spaces change nothing here: passed over in one tight loop.
      while (i < n && STRUCTURAL[chunk[i]!] === 0) i += 1;
      if (i === n) break;
      const c = chunk[i]!;
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (++this.depth > this.limits.maxDepth) {
          throw invalidInput(`Record ${this.count} is nested deeper than ${this.limits.maxDepth} levels; nothing was stored`, {
            bad_records: [{ index: this.count, error: `nested deeper than ${this.limits.maxDepth} levels` }],
          });
        }
      } else if (c === NEWLINE && lines) this.endRecord(from, i);
      else if (this.depth > 0 && (c === CLOSE_OBJECT || c === CLOSE_ARRAY)) this.depth -= 1;
      else if (this.depth === 0 && !lines && (c === COMMA || c === CLOSE_ARRAY)) {
        this.endRecord(from, i);
        this.between = c === COMMA ? 'after-comma' : 'after-array';
      }
      i += 1;
    }
    if (this.inRecord) {
      this.partBytes += n - from;
      this.checkSize(this.partBytes);
    }
  }

  /** The body ended; throws when it ended inside the array. Answers the number of records. */
  end(): number {
    if (this.inRecord && this.mode === 'lines') this.endRecord(0, 0);
    if (this.mode === 'array' && this.between !== 'after-array') throw invalidInput('Body is not valid JSON: it ends inside the array');
    return this.count;
  }

  /** A UTF-8 byte order mark before the body is not part of it. */
  private skipBom(chunk: Buffer): number {
    if (this.started || chunk.length === 0) return 0;
    this.started = true;
    return chunk.subarray(0, BOM.length).equals(BOM) ? BOM.length : 0;
  }

  private betweenRecords(chunk: Buffer, i: number): number {
    const c = chunk[i]!;
    if (isSpace(c)) return i + 1;
    switch (this.between) {
      case 'body-start':
        if (c === OPEN_ARRAY) {
          this.mode = 'array';
          this.between = 'array-start';
          return i + 1;
        }
        this.mode = 'lines';
        this.between = 'line-start';
        break;
      case 'array-start':
        if (c === CLOSE_ARRAY) {
          this.between = 'after-array';
          return i + 1;
        }
        break;
      case 'after-comma':
        if (c === CLOSE_ARRAY) throw invalidInput(`Body is not valid JSON: "]" after a comma (record ${this.count})`);
        break;
      case 'after-array':
        throw invalidInput('Body is not valid JSON: data after the closing "]"');
      case 'line-start':
        break;
    }
    this.startRecord();
    return i;
  }

  private skipString(chunk: Buffer, from: number, lines: boolean): number {
    const n = chunk.length;
    let i = from;
    if (this.escaped) {
      // The backslash ended the previous chunk.
      this.escaped = false;
      i += 1;
    }
    for (;;) {
      while (i < n && IN_STRING[chunk[i]!] === 0) i += 1;
      if (i >= n) return n;
      const c = chunk[i]!;
      if (c === BACKSLASH) {
        if (i + 1 >= n) {
          this.escaped = true;
          return n;
        }
        i += 2;
      } else if (c === QUOTE) {
        this.inString = false;
        return i + 1;
      } else if (lines) {
        // A line ends even inside a string: the line is broken, not the lines after it.
        this.inString = false;
        return i;
      } else i += 1;
    }
  }

  private startRecord(): void {
    if (this.count >= this.limits.maxRecords) {
      throw new AppError('PAYLOAD_TOO_LARGE', `Batch has more than ${this.limits.maxRecords} records; at most ${this.limits.maxRecords} are accepted`);
    }
    this.inRecord = true;
  }

  private checkSize(bytes: number): void {
    if (bytes > this.limits.maxRecordBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `Record ${this.count} is larger than ${this.limits.maxRecordBytes} bytes; nothing was stored`);
    }
  }

  private endRecord(from: number, to: number): void {
    this.checkSize(this.partBytes + to - from);
    this.partBytes = 0;
    this.inRecord = false;
    this.inString = false;
    this.escaped = false;
    this.depth = 0;
    this.count += 1;
  }
}
