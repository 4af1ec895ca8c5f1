/**
 * Telling "PostgreSQL is away" from "this statement was wrong", and saying so once per outage.
 * The edges answer the first with 503 and `Retry-After` (SERVICE_UNAVAILABLE), the background
 * loops retry it; neither logs an error line per failed request while the database is down.
 */
import { AppError } from './errors.js';

/**
 * Socket errors, and the SQLSTATEs of a server that is shutting down, restarting, refusing
 * connections or was told to end ours (57P01 is `pg_terminate_backend` or a fast shutdown).
 * Class 08 is "connection exception", except 08P01, a protocol violation: a bug, not an outage.
 */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);
const CONNECTION_EXCEPTION = /^08(?!P01)/;
/**
 * What pg, pg-pool and knex say when a connection died or none could be had; they set no code.
 * The ORM puts the SQL before the driver's message (`<sql> - Connection terminated …`). knex
 * says "Transaction query already complete" when a transaction's connection died under it.
 */
const UNAVAILABLE_MESSAGES =
  /(^|- )(Connection terminated|Client has encountered a connection error|Client was closed|timeout exceeded when trying to connect|Knex: Timeout acquiring a connection|Transaction query already complete)/;

/** True when `error` (or an error it wraps) means PostgreSQL is unreachable or dropped the connection. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || CONNECTION_EXCEPTION.test(code))) return true;
  if (UNAVAILABLE_MESSAGES.test(error.message)) return true;
  // Node reports a refused connection to a name with several addresses as an AggregateError.
  const inner = [error.cause, ...(error instanceof AggregateError ? (error.errors as unknown[]) : [])];
  return inner.some((e) => isDatabaseUnavailable(e, depth + 1));
}

export interface OutageLog {
  warn(obj: object, msg: string): void;
  info(msg: string): void;
}

/**
 * Watches for database faults reported by whoever met them. The first fault of an outage is
 * logged as a warning; then `probe` runs every `probeEveryMs` until it succeeds, and one info
 * line says PostgreSQL is back. Faults in between are counted as the same outage, silently.
 */
export class DatabaseOutage {
  private down = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: OutageLog,
    private readonly probe: () => Promise<unknown>,
    private readonly probeEveryMs = 1000,
  ) {}

  /**
   * True when `error` is a database fault, which this takes care of; false for any other
   * error, which the caller reports itself.
   */
  absorb(error: unknown): boolean {
    if (!isDatabaseUnavailable(error)) return false;
    if (!this.down && !this.closed) {
      this.down = true;
      this.log.warn({ err: error }, 'PostgreSQL is unreachable or dropped a connection: answering 503 and retrying until it is back');
      this.watch();
    }
    return true;
  }

  /** The typed error an edge answers for a database fault, else undefined. */
  toAppError(error: unknown): AppError | undefined {
    return this.absorb(error) ? new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable right now; retry later') : undefined;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private watch(): void {
    this.timer = setTimeout(() => {
      this.probe().then(
        () => {
          this.down = false;
          if (!this.closed) this.log.info('PostgreSQL answers again');
        },
        () => {
          if (!this.closed) this.watch();
        },
      );
    }, this.probeEveryMs);
    // A pending probe must not keep a stopping process alive.
    this.timer.unref();
  }
}
