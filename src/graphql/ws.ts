import type { FastifyInstance } from 'fastify';
import { GraphQLError, type GraphQLSchema, parse } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { AppError } from '../lib/errors.js';
import type { Principal } from '../modules/accounts/principal.js';
import type { Services } from '../services.js';
import type { GraphQLContext } from './context.js';
import { checkQueryLimits } from './limits.js';

/** RFC 6455 "going away": the server is shutting down. */
const GOING_AWAY = 1001;

interface ConnectionExtra extends Record<PropertyKey, unknown> {
  principal?: Principal;
  subscriptions: number;
}

export interface GraphQLWsServer {
  /** Open WebSocket connections right now. */
  connections(): number;
  /** Closes every socket with 1001 (going away) and stops accepting new ones. */
  close(): Promise<void>;
}

/**
 * graphql-ws on the same port and path as HTTP GraphQL. The client authenticates in
 * `connection_init` (`{"authorization": "APIToken <t>"}` or `"Bearer <jwt>"`); bad or revoked
 * credentials close the socket with 4403.
 */
export function mountGraphQLWs(app: FastifyInstance, schema: GraphQLSchema, services: Services, maxSubscriptionsPerConnection = 20): GraphQLWsServer {
  const { config, db } = services;
  const wss = new WebSocketServer({ server: app.server, path: '/graphql', maxPayload: config.graphqlBodyLimitBytes });
  useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema,
      context: (ctx): GraphQLContext => ({ em: db.orm.em.fork(), principal: ctx.extra.principal, services }),
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        try {
          const principal = await services.auth.authenticate(db.orm.em.fork(), typeof authorization === 'string' ? authorization : undefined);
          Object.assign(ctx.extra, { principal, subscriptions: 0 });
          services.metrics.wsConnections.inc();
          return true;
        } catch (error) {
          if (error instanceof AppError) return false; // graphql-ws closes with 4403 Forbidden
          throw error;
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        const active = ctx.extra.subscriptions ?? 0;
        if (active >= maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${maxSubscriptionsPerConnection} subscriptions per connection`, {
              extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
            }),
          ];
        }
        try {
          checkQueryLimits(schema, parse(payload.query), payload.variables ?? undefined, payload.operationName, {
            maxDepth: config.graphqlMaxDepth,
            maxCost: config.graphqlMaxCost,
          });
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        ctx.extra.subscriptions = active + 1;
        services.metrics.subscriptions.inc();
        return undefined;
      },
      onComplete: (ctx) => {
        ctx.extra.subscriptions = Math.max(0, (ctx.extra.subscriptions ?? 1) - 1);
        services.metrics.subscriptions.dec();
      },
      // graphql-ws completes (onComplete) every open subscription before this runs.
      onDisconnect: () => {
        services.metrics.wsConnections.dec();
      },
    },
    wss,
  );

  return {
    connections: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.close(GOING_AWAY, 'Server shutting down');
        wss.close(() => resolve());
      }),
  };
}
