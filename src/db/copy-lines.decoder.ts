/**
 * The backend's side of `COPY (SELECT one_text_column …) TO STDOUT (FORMAT binary)`, decoded
 * into fixed-size blocks of newline-terminated lines. Pure: bytes in, blocks out, so it is
 * tested on its own against every way a socket can split them.
 */
import { BINARY_COPY_HEADER, BINARY_COPY_SIGNATURE } from './binary-copy.js';

/** Protocol message types (first byte of each backend message). */
const Message = {
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyOutResponse: 0x48, // H
  // Asynchronous messages the server may send at any time, COPY included.
  NoticeResponse: 0x4e, // N
  ParameterStatus: 0x53, // S
  NotificationResponse: 0x41, // A
} as const;

/** The file header: signature, flags, length of the extension area. */
const FILE_HEADER_BYTES = BINARY_COPY_HEADER.length;
const NEWLINE = 0x0a;

/** Where the decoder is in the binary COPY tuple stream (the CopyData payloads, joined). */
const enum At {
  FileHeader,
  Extension,
  FieldCount,
  FieldLength,
  Field,
  Trailer,
}

/** The COPY output is not one non-null text column in the binary format. */
export class CopyFormatError extends Error {
  override readonly name = 'CopyFormatError';
}

/**
 * A pure decoder of the backend's bytes during a binary COPY TO of one column: it turns them
 * into blocks of exactly `blockSize` bytes (the last one shorter) holding each value followed
 * by a newline, whatever the socket's chunking. Tested on its own against every split.
 */
export class CopyLinesDecoder {
  /** Rows decoded so far. */
  rows = 0;
  /** CopyDone was read: every row is in a block (unless the decoding was given up). */
  done = false;
  /** Why the rows could not be decoded; the rest of the COPY is skipped. */
  failure: Error | undefined;
  /** Rows are no longer wanted: CopyData is skipped until CopyDone. */
  private abandoned = false;
  private block: Buffer;
  private used = 0;
  /** Bytes of the current message's payload still to come. */
  private payloadLeft = 0;
  /** The current message is not CopyData: its payload is skipped. */
  private skipping = false;
  /** A message header (type and length) split across socket chunks. */
  private readonly header = Buffer.alloc(5);
  private headerHave = 0;
  private at = At.FileHeader;
  /** A number or the file header split across CopyData payloads. */
  private readonly scratch = Buffer.alloc(FILE_HEADER_BYTES);
  private scratchHave = 0;
  /** Bytes of the current field (or extension area) still to come. */
  private left = 0;

  constructor(
    private readonly blockSize: number,
    private readonly onBlock: (block: Buffer) => void,
  ) {
    this.block = Buffer.allocUnsafe(blockSize);
  }

  /** Bytes to put before the first row (a header line, say). */
  prepend(bytes: Buffer): void {
    this.put(bytes, 0, bytes.length);
  }

  /**
   * Feeds bytes from the socket. Returns undefined while COPY goes on; once a message ends it
   * (CopyDone, or anything else such as an ErrorResponse, which is left unread), returns the
   * bytes that follow for the connection's own parser, from that message's first byte.
   */
  write(chunk: Buffer): Buffer | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const end = Math.min(chunk.length, at + this.payloadLeft);
        if (!this.skipping && !this.abandoned) this.decode(chunk, at, end);
        this.payloadLeft -= end - at;
        at = end;
        continue;
      }
      let header: Buffer;
      let headerAt: number;
      if (this.headerHave === 0 && chunk.length - at >= 5) {
        header = chunk;
        headerAt = at;
        at += 5;
      } else {
        const n = Math.min(5 - this.headerHave, chunk.length - at);
        chunk.copy(this.header, this.headerHave, at, at + n);
        this.headerHave += n;
        at += n;
        if (this.headerHave < 5) break;
        this.headerHave = 0;
        header = this.header;
        headerAt = 0;
      }
      const type = header[headerAt]!;
      const length = header.readUInt32BE(headerAt + 1) - 4;
      switch (type) {
        case Message.CopyData:
          this.skipping = false;
          this.payloadLeft = length;
          break;
        case Message.CopyOutResponse:
        case Message.NoticeResponse:
        case Message.ParameterStatus:
        case Message.NotificationResponse:
          this.skipping = true;
          this.payloadLeft = length;
          break;
        case Message.CopyDone:
          this.finish();
          return chunk.subarray(at);
        default:
          // An ErrorResponse, or COPY ended some other way: the connection's parser reads it.
          return Buffer.concat([header.subarray(headerAt, headerAt + 5), chunk.subarray(at)]);
      }
    }
    return undefined;
  }

  /**
   * Rows are no longer wanted: the rest of the COPY is read off and skipped, so the
   * connection's parser gets it back at a message boundary and the connection stays usable.
   */
  abandon(): void {
    this.abandoned = true;
  }

  private decode(chunk: Buffer, from: number, to: number): void {
    try {
      this.tuples(chunk, from, to);
    } catch (error) {
      this.failure = error as Error;
      this.abandoned = true;
    }
  }

  /** Decodes CopyData payload bytes `[from, to)` of `chunk`. */
  private tuples(chunk: Buffer, from: number, to: number): void {
    let i = from;
    while (i < to) {
      switch (this.at) {
        case At.Field: {
          const end = Math.min(to, i + this.left);
          this.put(chunk, i, end);
          this.left -= end - i;
          i = end;
          if (this.left === 0) this.endLine();
          break;
        }
        case At.FieldCount:
          // The usual case: field count and length whole in this payload.
          if (this.scratchHave === 0 && to - i >= 6 && chunk.readInt16BE(i) === 1) {
            this.startField(chunk.readInt32BE(i + 2));
            i += 6;
            break;
          }
          i = this.gather(chunk, i, to, 2);
          if (this.scratchHave < 2) break;
          this.scratchHave = 0;
          this.fieldCount(this.scratch.readInt16BE(0));
          break;
        case At.FieldLength:
          i = this.gather(chunk, i, to, 4);
          if (this.scratchHave < 4) break;
          this.scratchHave = 0;
          this.startField(this.scratch.readInt32BE(0));
          break;
        case At.FileHeader:
          i = this.gather(chunk, i, to, FILE_HEADER_BYTES);
          if (this.scratchHave < FILE_HEADER_BYTES) break;
          this.scratchHave = 0;
          if (!this.scratch.subarray(0, BINARY_COPY_SIGNATURE.length).equals(BINARY_COPY_SIGNATURE)) throw new CopyFormatError('COPY output is not in the binary format');
          this.left = this.scratch.readUInt32BE(BINARY_COPY_SIGNATURE.length + 4);
          this.at = this.left > 0 ? At.Extension : At.FieldCount;
          break;
        case At.Extension: {
          const end = Math.min(to, i + this.left);
          this.left -= end - i;
          i = end;
          if (this.left === 0) this.at = At.FieldCount;
          break;
        }
        case At.Trailer:
          throw new CopyFormatError('COPY output goes on after its trailer');
      }
    }
  }

  private gather(chunk: Buffer, i: number, to: number, bytes: number): number {
    const n = Math.min(bytes - this.scratchHave, to - i);
    chunk.copy(this.scratch, this.scratchHave, i, i + n);
    this.scratchHave += n;
    return i + n;
  }

  private fieldCount(count: number): void {
    if (count === -1) this.at = At.Trailer;
    else if (count === 1) this.at = At.FieldLength;
    else throw new CopyFormatError(`COPY rows have ${count} columns; one is expected`);
  }

  private startField(length: number): void {
    if (length < 0) throw new CopyFormatError('COPY sent a NULL line');
    this.left = length;
    if (length === 0) this.endLine();
    else this.at = At.Field;
  }

  private endLine(): void {
    this.rows += 1;
    this.at = At.FieldCount;
    this.block[this.used++] = NEWLINE;
    if (this.used === this.blockSize) this.flush();
  }

  private put(source: Buffer, from: number, to: number): void {
    while (from < to) {
      const n = Math.min(to - from, this.blockSize - this.used);
      source.copy(this.block, this.used, from, from + n);
      this.used += n;
      from += n;
      if (this.used === this.blockSize) this.flush();
    }
  }

  private flush(): void {
    this.onBlock(this.block);
    this.block = Buffer.allocUnsafe(this.blockSize);
    this.used = 0;
  }

  private finish(): void {
    this.done = true;
    if (this.abandoned) return;
    if (this.at !== At.Trailer) {
      this.failure = new CopyFormatError('COPY ended without its trailer');
      return;
    }
    if (this.used > 0) this.onBlock(this.block.subarray(0, this.used));
    this.used = 0;
  }
}
