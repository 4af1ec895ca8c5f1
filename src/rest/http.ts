import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_TABLE, RateLimitedError } from '../lib/errors.js';
import type { Principal } from '../modules/accounts/principal.js';
import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** A fork of the ORM's EntityManager private to this request. */
    em: EntityManager;
  }
}

/** Authenticates a user request (`APIToken` or `Bearer`); throws UNAUTHENTICATED. */
export function requireUser(services: Services, request: FastifyRequest): Promise<Principal> {
  return services.auth.authenticate(request.em, request.headers.authorization);
}

/** Error bodies follow the legacy API: `{"detail": "..."}`. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError | Error, request, reply: FastifyReply) => {
    if (error instanceof AppError) {
      const status = ERROR_TABLE[error.code].http;
      const extra = error.details && typeof error.details === 'object' ? error.details : {};
      if (status === 401) void reply.header('www-authenticate', 'APIToken, Bearer');
      if (error instanceof RateLimitedError) void reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(status).send({ detail: error.message, ...extra });
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
