import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import type { Database } from './db/database.js';
import { mountGraphQLHttp } from './graphql/http.js';
import { buildAppSchema } from './graphql/schema.js';
import { type GraphQLWsServer, mountGraphQLWs } from './graphql/ws.js';
import { startJobs, stopJobs } from './jobs/jobs.js';
import { authRoutes } from './rest/auth.route.js';
import { registerErrorHandling } from './rest/http.js';
import { taskRoutes } from './rest/tasks.route.js';
import { createServices, type Services } from './services.js';

export type Role = 'all' | 'api' | 'worker';

export interface App {
  readonly http: FastifyInstance;
  readonly services: Services;
  /** Starts listening on `config.host:config.port`; resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting work, closes sockets, then lets the caller close the database. */
  close(): Promise<void>;
}

/** Wiring only: services, REST routes, Apollo, graphql-ws, the job runner. */
export async function buildApp(config: Config, db: Database, options: { role?: Role } = {}): Promise<App> {
  const role = options.role ?? 'all';
  const services = createServices(config, db);
  const http = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
  });
  http.decorateRequest('em', null as never);
  http.addHook('onRequest', async (request) => {
    request.em = db.orm.em.fork();
  });
  registerErrorHandling(http);
  services.jobs.useLog(http.log);

  let ws: GraphQLWsServer | undefined;
  if (role !== 'worker') {
    await http.register(authRoutes(services));
    await http.register(taskRoutes(services));
    const schema = await buildAppSchema();
    await mountGraphQLHttp(http, schema, services);
    ws = mountGraphQLWs(http, schema, services);
  }
  if (role !== 'api') await startJobs(services);

  return {
    http,
    services,
    async listen() {
      await http.listen({ host: config.host, port: config.port });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    },
    async close() {
      await ws?.close();
      await http.close();
      await stopJobs(services);
    },
  };
}
