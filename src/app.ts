import { randomUUID } from 'node:crypto';

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import type { Config } from './config/config.js';
import type { Database } from './db/database.js';
import { mountGraphQLHttp } from './graphql/http.js';
import { type GraphQLWsServer, mountGraphQLWs } from './graphql/ws.js';
import { startJobs } from './job-handlers.js';
import { registerAuthThrottle } from './lib/auth-throttle.js';
import { createLogger } from './lib/logger.js';
import { registerSecurityHeaders } from './lib/security-headers.js';
import { withKeptJwtSecret } from './modules/accounts/service-secret.store.js';
import type { Dispatcher } from './modules/announcements/dispatcher.js';
import { authRoutes } from './rest/auth.route.js';
import { dashboardRoutes } from './rest/dashboard.route.js';
import { healthRoutes } from './rest/health.route.js';
import { registerErrorHandling } from './rest/http.js';
import { registerOpenApi } from './rest/openapi.js';
import { storageRoutes } from './rest/storage.route.js';
import { taskRoutes } from './rest/tasks.route.js';
import { triggerRoutes } from './rest/triggers.route.js';
import { tripRoutes } from './rest/trips.route.js';
import { buildAppSchema, resolverContainer } from './schema.js';
import { createServices, type Services } from './services.js';

export type Role = 'all' | 'api' | 'worker';

export interface App {
  readonly http: FastifyInstance;
  readonly services: Services;
  /** graphql-ws on /graphql (roles `all` and `api`). */
  readonly ws: GraphQLWsServer | undefined;
  /** The announcement dispatcher (roles `all` and `worker`). */
  readonly dispatcher: Dispatcher | undefined;
  /** Starts listening on `config.host:config.port`; resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting work, closes sockets, then lets the caller close the database. */
  close(): Promise<void>;
}

/** Wiring only: services, REST routes, Apollo, graphql-ws, the job runner, the announcement dispatcher. */
export async function buildApp(loaded: Config, db: Database, options: { role?: Role } = {}): Promise<App> {
  const role = options.role ?? 'all';
  const log = createLogger(loaded);
  const config = await withKeptJwtSecret(loaded, db.pool, log);
  const services = createServices(config, db, log);
  // Every role schedules jobs: an unreachable job store stops start-up with one clear line.
  await services.jobs.connect();
  const sealed = await services.triggers.sealPlainHeaders(db.orm.em.fork());
  if (sealed > 0) log.info({ sealed }, 'sealed the webhook header values of triggers written by an earlier version');
  const http = Fastify({
    // Typed as Fastify's base logger so plugins and routes keep Fastify's default generics.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: log as FastifyBaseLogger,
    genReqId: (request) => {
      // Keep a caller's correlation id when it looks sane, else make one.
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    // Who "the caller's address" is for per-address limits: the peer, or what a trusted proxy says.
    trustProxy: typeof config.trustProxy === 'boolean' ? config.trustProxy : [...config.trustProxy],
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
  });
  http.decorateRequest('em', null as never);
  http.addHook('onRequest', async (request, reply) => {
    request.em = db.orm.em.fork();
    void reply.header('x-request-id', request.id);
  });
  registerErrorHandling(http, services.outage);
  await registerSecurityHeaders(http);

  await registerOpenApi(http, config.publicUrl);
  await http.register(healthRoutes(services.readiness, services.metrics));
  let ws: GraphQLWsServer | undefined;
  if (role !== 'worker') {
    // One deployment is one database; deployments sharing a Redis keep their counts apart.
    const throttle = await registerAuthThrottle(http, config, `trip-export:${new URL(db.url).pathname.slice(1)}`);
    await http.register(authRoutes(services.auth, throttle));
    await http.register(dashboardRoutes());
    await http.register(storageRoutes(db.pool, services.devices, services.ingest));
    await http.register(tripRoutes(services.auth, services.trips, config.publicUrl));
    await http.register(taskRoutes(services.auth, services.tasks, config.publicUrl));
    await http.register(triggerRoutes(services.auth, services.triggers));
    const resolvers = resolverContainer(services);
    const schema = await buildAppSchema(resolvers, services.notify.pubSub.pubSub);
    const edge = { config, outage: services.outage, resolvers, authenticate: services.auth.authenticate.bind(services.auth) };
    await mountGraphQLHttp(http, schema, edge, throttle);
    ws = mountGraphQLWs(http, schema, { ...edge, metrics: services.metrics, forkEm: () => db.orm.em.fork() }, config.graphqlWsMaxSubscriptions);
  }

  const dispatcher = role !== 'api' ? services.dispatcher : undefined;
  if (dispatcher) {
    dispatcher.start();
    await startJobs(services);
  }

  return {
    http,
    services,
    ws,
    dispatcher,
    async listen() {
      await http.listen({ host: config.host, port: config.port });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    },
    async close() {
      await ws?.close();
      await http.close();
      await services.close();
    },
  };
}
