import type { FastifyInstance } from 'fastify';

import type { AuthThrottle } from '../lib/auth-throttle.js';
import type { ApiToken } from '../modules/accounts/api-token.entity.js';
import type { AuthService } from '../modules/accounts/auth.service.js';
import { requireUser } from './http.js';
import { apiTokenSchema, authErrors, bearerSecurity, errorSchema } from './schemas.js';

const tokenJson = (t: ApiToken) => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  created_at: t.createdAt,
  expires_at: t.expiresAt ?? null,
  last_used_at: t.lastUsedAt ?? null,
});

/** `/auth/login/` and `/auth/api_tokens/`. */
export function authRoutes(auth: AuthService, throttle: AuthThrottle) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: { email: string; password: string } }>(
      '/auth/login/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Exchange e-mail and password for a short-lived JWT',
          body: {
            type: 'object',
            properties: { email: { type: 'string' }, password: { type: 'string' } },
            required: ['email', 'password'],
          },
          response: { 200: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] }, 401: errorSchema, 429: errorSchema },
        },
      },
      async (request) => {
        await throttle.loginAttempt(request, request.body.email);
        return { token: await auth.login(request.em, request.body.email, request.body.password) };
      },
    );

    app.get(
      '/auth/api_tokens/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Active API tokens of the customer',
          security: bearerSecurity,
          response: { 200: { type: 'array', items: apiTokenSchema }, ...authErrors },
        },
      },
      async (request) => {
        const principal = await requireUser(auth, request);
        return (await auth.listApiTokens(request.em, principal)).map(tokenJson);
      },
    );

    app.post<{ Body: { name: string; expires_at?: string | null } }>(
      '/auth/api_tokens/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an API token; the token is in this answer only',
          security: bearerSecurity,
          body: {
            type: 'object',
            properties: { name: { type: 'string', minLength: 1 }, expires_at: { type: ['string', 'null'], description: 'ISO-8601; omit for no expiry' } },
            required: ['name'],
          },
          response: {
            201: { ...apiTokenSchema, properties: { ...apiTokenSchema.properties, token: { type: 'string' } }, required: [...apiTokenSchema.required, 'token'] },
            400: errorSchema,
            ...authErrors,
          },
        },
      },
      async (request, reply) => {
        const principal = await requireUser(auth, request);
        const created = await auth.createApiToken(request.em, principal, request.body.name, request.body.expires_at);
        return reply.status(201).send({ ...tokenJson(created.apiToken), token: created.token });
      },
    );

    app.delete<{ Params: { id: string } }>(
      '/auth/api_tokens/:id/',
      {
        schema: {
          tags: ['auth'],
          summary: 'Revoke an API token',
          security: bearerSecurity,
          params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
          response: { 204: { type: 'null' }, ...authErrors },
        },
      },
      async (request, reply) => {
        const principal = await requireUser(auth, request);
        await auth.revokeApiToken(request.em, principal, request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
