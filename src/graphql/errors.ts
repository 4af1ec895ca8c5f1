import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, ERROR_TABLE } from '../lib/errors.js';

function originalOf(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/**
 * Maps service errors to `extensions.code` through the shared error table; anything
 * unexpected is logged and answered as a plain internal error.
 */
export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
  log: (error: unknown) => void,
): GraphQLFormattedError {
  const original = originalOf(error);
  if (original instanceof AppError) {
    return {
      message: original.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ERROR_TABLE[original.code].graphql, ...(original.details ? { details: original.details } : {}) },
    };
  }
  // Errors raised by GraphQL itself (parse, validation, variables, limits) are the client's
  // fault and already carry a code; keep it.
  if (original instanceof GraphQLError) {
    const code = formatted.extensions?.code;
    return { ...formatted, extensions: { ...formatted.extensions, code: typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR' ? code : 'BAD_USER_INPUT' } };
  }
  if (original instanceof Error && original.name === 'ArgumentValidationError') {
    return { message: original.message, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT' } };
  }
  log(original);
  return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
