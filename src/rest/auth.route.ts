import type { FastifyInstance } from 'fastify';
import { invalidInput } from '../lib/errors.js';
import type { ApiToken } from '../modules/accounts/api-token.entity.js';
import type { Services } from '../services.js';
import { requireUser } from './http.js';

const tokenJson = (t: ApiToken) => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  created_at: t.createdAt,
  expires_at: t.expiresAt ?? null,
  last_used_at: t.lastUsedAt ?? null,
});

/** `/auth/login/` and `/auth/api_tokens/`. */
export function authRoutes(services: Services) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: { email?: unknown; password?: unknown } }>('/auth/login/', async (request) => {
      const { email, password } = request.body ?? {};
      if (typeof email !== 'string' || typeof password !== 'string') throw invalidInput('email and password are required');
      return { token: await services.auth.login(request.em, email, password) };
    });

    app.get('/auth/api_tokens/', async (request) => {
      const principal = await requireUser(services, request);
      return (await services.auth.listApiTokens(request.em, principal)).map(tokenJson);
    });

    app.post<{ Body: { name?: unknown; expires_at?: unknown } }>('/auth/api_tokens/', async (request, reply) => {
      const principal = await requireUser(services, request);
      const { name, expires_at: expiresAt } = request.body ?? {};
      if (typeof name !== 'string') throw invalidInput('name is required');
      if (expiresAt !== undefined && expiresAt !== null && typeof expiresAt !== 'string') throw invalidInput('expires_at must be an ISO-8601 string');
      const created = await services.auth.createApiToken(request.em, principal, name, expiresAt);
      return reply.status(201).send({ ...tokenJson(created.apiToken), token: created.token });
    });

    app.delete<{ Params: { id: string } }>('/auth/api_tokens/:id/', async (request, reply) => {
      const principal = await requireUser(services, request);
      await services.auth.revokeApiToken(request.em, principal, request.params.id);
      return reply.status(204).send();
    });
  };
}
