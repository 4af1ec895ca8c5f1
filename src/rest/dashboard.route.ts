import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

import { dashboardHeaders } from '../lib/security-headers.js';

/** Where `npm run build` puts the dashboard (web/ -> dist/web), next to the compiled service. */
export const DASHBOARD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

/**
 * The dashboard at `GET /` on the API's own port, so `npm start` is all a fleet manager runs.
 * Two routes, not a wildcard: every other path keeps the API's own 404, and the dashboard's
 * stricter CSP applies to its files only. Hashed assets never change, so they are cached for good.
 */
export function dashboardRoutes(dir = DASHBOARD_DIR) {
  return async (app: FastifyInstance): Promise<void> => {
    if (!existsSync(path.join(dir, 'index.html'))) {
      app.log.warn({ dir }, 'the dashboard is not built (npm run build builds it); GET / answers 404');
      return;
    }
    await app.register(fastifyStatic, { root: dir, serve: false });
    const hidden = { hide: true };
    app.get('/', { schema: hidden, helmet: dashboardHeaders }, async (_request, reply) =>
      reply.header('cache-control', 'no-cache').sendFile('index.html', dir, { cacheControl: false }),
    );
    app.get<{ Params: { '*': string } }>('/assets/*', { schema: hidden, helmet: dashboardHeaders }, async (request, reply) =>
      reply.sendFile(request.params['*'], path.join(dir, 'assets'), { immutable: true, maxAge: '365d' }),
    );
  };
}
