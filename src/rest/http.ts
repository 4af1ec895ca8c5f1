import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { DatabaseOutage } from '../lib/database-outage.js';
import { AppError, ERROR_TABLE, RateLimitedError } from '../lib/errors.js';
import type { Principal } from '../lib/principal.js';
import type { AuthService } from '../modules/accounts/auth.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** A fork of the ORM's EntityManager private to this request. */
    em: EntityManager;
  }
}

/** Authenticates a user request (`APIToken` or `Bearer`); throws UNAUTHENTICATED. */
export function requireUser(auth: Pick<AuthService, 'authenticate'>, request: FastifyRequest): Promise<Principal> {
  return auth.authenticate(request.em, request.headers.authorization);
}

/**
 * Error bodies follow the legacy API: `{"detail": "..."}`. A database fault is answered 503
 * with `Retry-After` (a device keeps its batch and sends it again), and logged once per outage.
 */
export function registerErrorHandling(app: FastifyInstance, outage: Pick<DatabaseOutage, 'toAppError'>): void {
  app.setErrorHandler((error: FastifyError | AppError | Error, request, reply: FastifyReply) => {
    const known = error instanceof AppError ? error : outage.toAppError(error);
    if (known) {
      const { http: status, retryAfterSeconds } = ERROR_TABLE[known.code];
      const extra = known.details && typeof known.details === 'object' ? known.details : {};
      if (status === 401) void reply.header('www-authenticate', 'APIToken, Bearer');
      const retryAfter = known instanceof RateLimitedError ? known.retryAfterSeconds : retryAfterSeconds;
      if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
      return reply.status(status).send({ detail: known.message, ...extra });
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      return reply.status(400).send({ detail: `Invalid request: ${fastifyError.message}` });
    }
    const status = fastifyError.statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.status(status).send({ detail: fastifyError.message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({ detail: 'Internal server error' });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ detail: `No route for ${request.method} ${request.url.split('?')[0]}` }));
}
