import type { FastifyInstance } from 'fastify';

import type { Metrics } from '../lib/metrics.js';
import type { Readiness } from '../lib/readiness.js';

/** Liveness, readiness and Prometheus metrics. Unauthenticated: bind them to an internal port in production. */
export function healthRoutes(readiness: Readiness, metrics: Metrics) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));

    app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: 503 naming the unreachable dependencies' } }, async (_request, reply) => {
      const report = await readiness.report();
      const failing = Object.entries(report.checks)
        .filter(([, c]) => !c.ok)
        .map(([name]) => name);
      return reply.status(report.ready ? 200 : 503).send({
        status: report.ready ? 'ready' : 'not ready',
        ...(failing.length ? { detail: `unreachable: ${failing.join(', ')}` } : {}),
        checks: report.checks,
      });
    });

    app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    });
  };
}
