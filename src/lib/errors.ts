/**
 * Typed service errors. Services throw these; the edges (REST, GraphQL) translate the
 * code through {@link ERROR_TABLE} and never inspect messages.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'INVALID_INPUT'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'SERVICE_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'CURSOR_EXPIRED';

/** How an error code is answered; `retryAfterSeconds` becomes the `Retry-After` header. */
export interface ErrorAnswer {
  readonly http: number;
  readonly graphql: string;
  readonly retryAfterSeconds?: number;
}

export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorAnswer>> = {
  NOT_FOUND: { http: 404, graphql: 'NOT_FOUND' },
  FORBIDDEN: { http: 403, graphql: 'FORBIDDEN' },
  UNAUTHENTICATED: { http: 401, graphql: 'UNAUTHENTICATED' },
  INVALID_INPUT: { http: 400, graphql: 'BAD_USER_INPUT' },
  CONFLICT: { http: 409, graphql: 'CONFLICT' },
  PAYLOAD_TOO_LARGE: { http: 413, graphql: 'PAYLOAD_TOO_LARGE' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, graphql: 'BAD_USER_INPUT' },
  // PostgreSQL is unreachable or dropped the connection: nothing was stored, send it again.
  SERVICE_UNAVAILABLE: { http: 503, graphql: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 },
  RATE_LIMITED: { http: 429, graphql: 'RATE_LIMITED' },
  // What came after the cursor has been deleted: replaying from it would silently skip events.
  CURSOR_EXPIRED: { http: 410, graphql: 'CURSOR_EXPIRED' },
};

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, client-safe detail (for example the list of bad records). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** Too many attempts; the edges answer 429 with `Retry-After`. */
export class RateLimitedError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('RATE_LIMITED', `${message}; try again in ${retryAfterSeconds} s`);
  }
}

export const notFound = (what: string): AppError => new AppError('NOT_FOUND', `${what} not found`);
export const invalidInput = (message: string, details?: unknown): AppError => new AppError('INVALID_INPUT', message, details);
export const conflict = (message: string): AppError => new AppError('CONFLICT', message);
export const unauthenticated = (message = 'Authentication credentials were not provided or are invalid'): AppError => new AppError('UNAUTHENTICATED', message);

/**
 * A start-up failure the operator fixes (an unreachable job store, an embedded database that
 * cannot start): its message says what is wrong and what to do, and is printed as one line.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** An error's message on one line, for a {@link StartupError}. */
export const errorLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
