/**
 * Several prepared reads sent to PostgreSQL together, as one pipeline closed by ONE Sync, on one
 * connection: one write to the socket, and PostgreSQL answers them all in one flush (it sends
 * its buffered output at the Sync), so the service's thread writes once and wakes once for them
 * instead of once per read, and an operation's reads hold one pooled connection, not one each.
 * The dashboard's `Device` page, whose two root fields are two reads, cost the service's thread
 * 4–8% less this way (bench/results.md, "eighth session").
 *
 * With one Sync, PostgreSQL skips everything after the first error until the Sync, so a batch
 * either answers every read or fails as a whole; the caller (`readRows`) then runs each read
 * alone, which gives every read its own answer or error. Reads change nothing, so running one
 * again is safe.
 *
 * `pg` drives a {@link pg.Submittable} through the `handle*` methods below, the way it drives
 * its own `Query`; rows are parsed by `pg`'s own `Result`, with the client's type parsers.
 */
import { createRequire } from 'node:module';

import type pg from 'pg';

/** What a batch runs: a statement already named (see prepared-reads.ts) and its values. */
export interface PipelinedRead {
  /** The `$n` text, to prepare the statement when this connection has not yet. */
  readonly text: string;
  readonly name: string;
  readonly values: readonly unknown[];
}

type Row = Record<string, unknown>;

/** `pg`'s result of one statement (`pg/lib/result`, which `pg` exports): its fields' parsers and its rows. */
interface PgResult {
  readonly rows: Row[];
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Row;
  addRow(row: Row): void;
}

interface TypeSource {
  getTypeParser: pg.ClientBase['getTypeParser'];
}

/** What of `pg`'s connection a batch uses: the protocol messages and the per-connection record of prepared statements. */
interface ProtocolConnection {
  readonly stream: { cork(): void; uncork(): void };
  /** Statement name → text, for the statements PostgreSQL confirmed on this connection. */
  readonly parsedStatements: Record<string, string | undefined>;
  parse(message: { text: string; name: string; types: unknown[] }): void;
  bind(message: { statement: string; portal: string; values: unknown[] }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string; rows: number }): void;
  sync(): void;
  sendCopyFail(message: string): void;
  on(event: 'parseComplete', listener: () => void): void;
}

const require = createRequire(import.meta.url);
const Result = require('pg/lib/result') as new (rowMode: undefined, types: TypeSource) => PgResult;
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

/** The batch each connection is running, for the connection's ParseComplete messages. */
const running = new WeakMap<ProtocolConnection, ReadPipeline>();
/** Connections that tell {@link running} of their ParseComplete messages: one listener each, for the connection's life. */
const watched = new WeakSet<ProtocolConnection>();

/** The batch got an answer it cannot take (no rows, a COPY): the reads run alone instead. */
class UnexpectedAnswer extends Error {
  constructor(what: string) {
    super(`a pipelined read got ${what}`);
  }
}

/**
 * Runs `reads` on `client` as one pipeline and answers each read's rows, in order; rejects as a
 * whole when any of them failed. The client must be idle and must not be in a transaction.
 */
export function runPipelined(client: pg.ClientBase, reads: readonly PipelinedRead[]): Promise<Row[][]> {
  return new Promise((resolve, reject) => {
    client.query(new ReadPipeline(reads, client, (error, rows) => (error ? reject(error) : resolve(rows!))));
  });
}

/** The reads of one batch, as `pg` runs them (`client.query(batch)`); `reads` is what it sends. */
export class ReadPipeline implements pg.Submittable {
  private readonly answered: Row[][] = [];
  private current: PgResult | undefined;
  /** The reads whose Parse this batch sent, in order: the n-th ParseComplete is the n-th of them. */
  private readonly parsing: PipelinedRead[] = [];
  private connection: ProtocolConnection | undefined;
  private failure: Error | undefined;
  private settled = false;

  constructor(
    readonly reads: readonly PipelinedRead[],
    private readonly types: TypeSource,
    private readonly done: (error: Error | undefined, rows?: Row[][]) => void,
  ) {}

  /** PostgreSQL prepared the next statement this batch sent a Parse for: the connection has it from now on. */
  parsed(): void {
    const read = this.parsing.shift();
    if (read && this.connection) this.connection.parsedStatements[read.name] = read.text;
  }

  /** Called by `pg` when the connection is free; an answered Error fails the batch without anything sent. */
  submit(connection: pg.Connection): Error | null {
    const protocol = connection as unknown as ProtocolConnection;
    let values: unknown[][];
    try {
      // Converted before anything is written: a value that cannot be sent must not leave half a pipeline on the socket.
      values = this.reads.map((read) => read.values.map((value) => prepareValue(value)));
    } catch (error) {
      return error as Error;
    }
    this.connection = protocol;
    if (!watched.has(protocol)) {
      watched.add(protocol);
      protocol.on('parseComplete', () => running.get(protocol)?.parsed());
    }
    running.set(protocol, this);
    protocol.stream.cork();
    try {
      this.reads.forEach((read, i) => {
        if (protocol.parsedStatements[read.name] === undefined) {
          protocol.parse({ text: read.text, name: read.name, types: [] });
          this.parsing.push(read);
        }
        protocol.bind({ statement: read.name, portal: '', values: values[i]! });
        protocol.describe({ type: 'P', name: '' });
        protocol.execute({ portal: '', rows: 0 });
      });
      protocol.sync();
    } finally {
      protocol.stream.uncork();
    }
    return null;
  }

  handleRowDescription(message: { fields: unknown[] }): void {
    this.current = new Result(undefined, this.types);
    this.current.addFields(message.fields);
  }

  handleDataRow(message: { fields: unknown[] }): void {
    if (this.failure || !this.current) return;
    try {
      this.current.addRow(this.current.parseRow(message.fields));
    } catch (error) {
      this.failure = error as Error;
    }
  }

  handleCommandComplete(): void {
    if (!this.current) this.failure ??= new UnexpectedAnswer('a statement without rows');
    this.answered.push(this.current?.rows ?? []);
    this.current = undefined;
  }

  handleEmptyQuery(): void {
    this.failure ??= new UnexpectedAnswer('an empty statement');
  }

  handlePortalSuspended(): void {
    this.failure ??= new UnexpectedAnswer('a suspended portal');
  }

  handleCopyInResponse(connection: pg.Connection): void {
    this.failure ??= new UnexpectedAnswer('a COPY');
    (connection as unknown as ProtocolConnection).sendCopyFail('not a read');
  }

  handleCopyData(): void {}

  /** A statement failed (PostgreSQL skips the rest up to the Sync), or the connection was lost. */
  handleError(error: Error): void {
    this.settle(error);
  }

  handleReadyForQuery(): void {
    if (!this.failure && this.answered.length !== this.reads.length) this.failure = new UnexpectedAnswer(`${this.answered.length} answers for ${this.reads.length} reads`);
    this.settle(this.failure, this.answered);
  }

  private settle(error: Error | undefined, rows?: Row[][]): void {
    if (this.settled) return;
    this.settled = true;
    if (this.connection && running.get(this.connection) === this) running.delete(this.connection);
    this.done(error, rows);
  }
}
