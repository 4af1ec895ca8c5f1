/**
 * `COPY (SELECT one_text_column …) TO STDOUT (FORMAT binary)` read straight off the
 * connection's socket into fixed-size blocks of newline-terminated lines.
 *
 * Why not pg-copy-streams: it hands over each row's CopyData message through a buffer list and
 * concatenates them again, and the CSV or text formats make PostgreSQL scan every character for
 * quoting or escaping. A million-row export spent ~0.9 s of its main thread and ~1.0-1.6 s of
 * the backend there. Here the binary format sends each value as it is stored, and the decoder
 * copies it once, into the block that is compressed next.
 */
import { Readable } from 'node:stream';
import type { Connection, Submittable } from 'pg';

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

/** The binary COPY file header: signature, flags, length of the extension area. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FILE_HEADER_BYTES = SIGNATURE.length + 8;
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
          if (!this.scratch.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new CopyFormatError('COPY output is not in the binary format');
          this.left = this.scratch.readUInt32BE(SIGNATURE.length + 4);
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

export interface CopyLinesOptions {
  /** Bytes per block read from the stream; all but the last are exactly this long. */
  readonly blockSize: number;
  /** Bytes put before the first line, inside the first block. */
  readonly prepend?: Buffer;
}

/**
 * A query for `client.query()`: runs the COPY and is read as a stream of blocks. Like
 * pg-copy-streams, it takes the socket over from the connection's parser while COPY runs
 * (reading only as fast as the stream is consumed) and hands it back at CopyDone or an error.
 */
export class CopyLinesStream extends Readable implements Submittable {
  /** PostgreSQL's own count of the rows sent, from the command's completion. */
  rowCount = 0;
  private connection: Connection | undefined;
  private readonly decoder: CopyLinesDecoder;
  private pgDataHandler: ((chunk: Buffer) => void) | undefined;
  private wanted = false;
  /** The connection's parser has the socket again. */
  private handedBack = false;
  /** Destroyed before COPY's end: the rest is read off and skipped. */
  private draining = false;
  private forwarding = false;
  private readonly onReadable = (): void => this.forward();

  constructor(
    private readonly text: string,
    options: CopyLinesOptions,
  ) {
    // Each block reaches the reader as it is (a byte stream would join buffered ones), and one
    // block waits for it at most: backpressure stops reading the socket.
    super({ objectMode: true, highWaterMark: 1 });
    this.decoder = new CopyLinesDecoder(options.blockSize, (block) => {
      if (!this.push(block)) this.wanted = false;
    });
    if (options.prepend) this.decoder.prepend(options.prepend);
  }

  submit(connection: Connection): void {
    this.connection = connection;
    const socket = connection.stream;
    const [handler, ...others] = socket.listeners('data') as ((chunk: Buffer) => void)[];
    if (!handler || others.length > 0) throw new Error('unexpected data listeners on the connection');
    this.pgDataHandler = handler;
    socket.removeListener('data', handler);
    socket.pause();
    socket.on('readable', this.onReadable);
    connection.query(this.text);
  }

  override _read(): void {
    this.wanted = true;
    this.forward();
  }

  private forward(): void {
    const socket = this.connection?.stream;
    if (!socket || this.forwarding || this.handedBack) return;
    this.forwarding = true;
    try {
      let chunk: Buffer | null;
      while ((this.wanted || this.draining) && !this.handedBack && (chunk = socket.read() as Buffer | null) !== null) {
        const rest = this.decoder.write(chunk);
        if (this.decoder.failure && !this.destroyed) this.destroy(this.decoder.failure);
        if (rest !== undefined) this.handBack(rest);
      }
    } finally {
      this.forwarding = false;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.handedBack) {
      // Mid-COPY (a failure, or the reader gave up): read the rest off so that the connection
      // comes back to its parser at a message boundary instead of being left mid-stream.
      this.decoder.abandon();
      this.draining = true;
      process.nextTick(() => this.forward());
    }
    callback(error);
  }

  /** COPY is over: the connection's parser reads the rest (CommandComplete, or the error). */
  private handBack(rest: Buffer): void {
    const socket = this.connection!.stream;
    const handler = this.pgDataHandler!;
    this.handedBack = true;
    socket.removeListener('readable', this.onReadable);
    socket.on('data', handler);
    if (rest.length > 0) handler(rest);
    // The parser may pause the socket while it works; resume once it is done.
    process.nextTick(() => socket.resume());
    // Otherwise an ErrorResponse follows: pg calls handleError.
    if (this.decoder.done && !this.destroyed) this.push(null);
  }

  /** Called by pg for an ErrorResponse. */
  handleError(error: Error): void {
    this.destroy(error);
  }

  /** Called by pg with the command tag, `COPY <n>`. */
  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {
    // The stream ended at CopyDone or failed with the error; anything else must not pass as done.
    if (!this.decoder.done && !this.destroyed) this.destroy(new CopyFormatError('COPY ended before CopyDone'));
  }
}
