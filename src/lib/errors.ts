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
  | 'RATE_LIMITED';

export const ERROR_TABLE: Readonly<Record<ErrorCode, { readonly http: number; readonly graphql: string }>> = {
  NOT_FOUND: { http: 404, graphql: 'NOT_FOUND' },
  FORBIDDEN: { http: 403, graphql: 'FORBIDDEN' },
  UNAUTHENTICATED: { http: 401, graphql: 'UNAUTHENTICATED' },
  INVALID_INPUT: { http: 400, graphql: 'BAD_USER_INPUT' },
  CONFLICT: { http: 409, graphql: 'CONFLICT' },
  PAYLOAD_TOO_LARGE: { http: 413, graphql: 'PAYLOAD_TOO_LARGE' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, graphql: 'BAD_USER_INPUT' },
  RATE_LIMITED: { http: 429, graphql: 'RATE_LIMITED' },
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
export const invalidInput = (message: string, details?: unknown): AppError =>
  new AppError('INVALID_INPUT', message, details);
export const conflict = (message: string): AppError => new AppError('CONFLICT', message);
export const unauthenticated = (message = 'Authentication credentials were not provided or are invalid'): AppError =>
  new AppError('UNAUTHENTICATED', message);
