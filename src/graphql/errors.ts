import { HeaderMap } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

import type { DatabaseOutage } from '../lib/database-outage.js';
import { AppError, ERROR_TABLE } from '../lib/errors.js';

function originalOf(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/**
 * An error for Apollo to answer before any resolver ran (the context could not be built): it
 * carries the HTTP status and `Retry-After` of the error table; `formatGraphQLError` sets its code.
 */
export function requestGraphQLError(error: AppError): GraphQLError {
  const { http, retryAfterSeconds } = ERROR_TABLE[error.code];
  const headers = new HeaderMap(retryAfterSeconds === undefined ? [] : [['retry-after', String(retryAfterSeconds)]]);
  return new GraphQLError(error.message, { originalError: error, extensions: { http: { status: http, headers } } });
}

/**
 * Maps service errors to `extensions.code` through the shared error table, database faults
 * to SERVICE_UNAVAILABLE (logged once per outage); anything unexpected is logged and answered
 * as a plain internal error.
 */
export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
  outage: Pick<DatabaseOutage, 'toAppError'>,
  log: (error: unknown) => void,
): GraphQLFormattedError {
  const original = originalOf(error);
  const known = original instanceof AppError ? original : outage.toAppError(original);
  if (known) {
    return {
      message: known.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ERROR_TABLE[known.code].graphql, ...(known.details ? { details: known.details } : {}) },
    };
  }
  // Errors raised by GraphQL itself (parse, validation, variables, limits) are the client's
  // fault and already carry a code; keep it.
  // A limit's own code (QUERY_TOO_DEEP...) wins over the GRAPHQL_VALIDATION_FAILED Apollo wraps it in.
  if (original instanceof GraphQLError) {
    const code = [original.extensions.code, formatted.extensions?.code].find((c) => typeof c === 'string' && c !== 'INTERNAL_SERVER_ERROR');
    // `http` is Apollo's instruction (the status), not part of the answer.
    const { http: _http, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions: { ...extensions, code: code ?? 'BAD_USER_INPUT' } };
  }
  if (original instanceof Error && original.name === 'ArgumentValidationError') {
    return { message: original.message, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT' } };
  }
  log(original);
  return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** graphql-js appends `Did you mean "x"?` (or `… the enum value "X"?`) to what it cannot find. */
export const withoutSuggestions = (message: string): string => message.replace(/ Did you mean .*\?$/s, '');
