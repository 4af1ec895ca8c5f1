import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/**
 * Collects the schemas of every route registered after it and serves them as an OpenAPI 3
 * document at `GET /openapi.json`.
 */
export async function registerOpenApi(app: FastifyInstance, publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'trip-export REST API',
        version: '1',
        description: 'Routes compatible with the original product (tasks/, logbook/, auth/). GraphQL lives at /graphql.',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          apiToken: { type: 'apiKey', in: 'header', name: 'Authorization', description: '"APIToken <token>"' },
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          deviceToken: { type: 'apiKey', in: 'header', name: 'Authorization', description: '"token <device upload token>"' },
        },
      },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
