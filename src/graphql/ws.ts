import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import {
  type DocumentNode,
  type ExecutionArgs,
  getOperationAST,
  GraphQLError,
  type GraphQLSchema,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';

import { AppError } from '../lib/errors.js';
import type { Metrics } from '../lib/metrics.js';
import type { Principal } from '../lib/principal.js';
import type { GraphQLContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import type { GraphQLEdge } from './http.js';
import { checkQueryCost, limitRules, parseOptionsOf, queryLimitsOf } from './limits.js';
import { RequestCache } from './request-cache.js';

/** RFC 6455 "going away": the server is shutting down. */
const GOING_AWAY = 1001;

interface ConnectionExtra extends Record<PropertyKey, unknown> {
  principal?: Principal;
  /** Checks the credentials again every GRAPHQL_WS_RECHECK_SECONDS while the socket is open. */
  recheck?: NodeJS.Timeout;
  subscriptions: number;
  /** Ids of this connection's operations that are streaming events right now. */
  live?: Set<string>;
}

export interface GraphQLWsServer {
  /** Open WebSocket connections right now. */
  connections(): number;
  /** Subscriptions streaming events right now, over all connections. */
  liveSubscriptions(): number;
  /** Closes every socket with 1001 (going away) and stops accepting new ones. */
  close(): Promise<void>;
}

/**
 * graphql-ws on the same port and path as HTTP GraphQL. The client authenticates in
 * `connection_init` (`{"authorization": "APIToken <t>"}` or `"Bearer <jwt>"`); bad or revoked
 * credentials close the socket with 4403, and so does a token revoked or a JWT expired while
 * the socket is open (checked again every `GRAPHQL_WS_RECHECK_SECONDS`).
 */
export function mountGraphQLWs(
  app: FastifyInstance,
  schema: GraphQLSchema,
  edge: GraphQLEdge & { readonly forkEm: () => EntityManager; readonly metrics: Metrics },
  maxSubscriptionsPerConnection = 20,
): GraphQLWsServer {
  const { config, outage, metrics, forkEm, authenticate } = edge;
  const limits = queryLimitsOf(config);
  // GRAPHQL_INTROSPECTION=false holds here too, not only for Apollo on HTTP.
  const rules = [...specifiedRules, ...limitRules(limits), ...(config.graphqlIntrospection ? [] : [NoSchemaIntrospectionCustomRule])];
  const wss = new WebSocketServer({ server: app.server, path: '/graphql', maxPayload: config.graphqlBodyLimitBytes });
  let live = 0;
  /** Closes the socket with 4403 once its credentials no longer authenticate. */
  const recheck = async (extra: Pick<ConnectionExtra, 'recheck'> & { readonly socket: WebSocket }, header: string | undefined): Promise<void> => {
    try {
      await authenticate(forkEm(), header);
    } catch (error) {
      if (!(error instanceof AppError)) {
        if (!outage.absorb(error)) app.log.warn({ err: error }, 'could not check WebSocket credentials; will try again');
        return;
      }
      clearInterval(extra.recheck);
      extra.socket.close(CloseCode.Forbidden, 'Forbidden');
    }
  };
  // Same mapping as the HTTP path: service errors keep their code, anything else is hidden.
  const format = (error: GraphQLError) => formatGraphQLError(error.toJSON(), error, outage, (err) => app.log.error({ err }, 'graphql subscription failed'));
  useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema,
      context: (ctx, _id, _payload, args): GraphQLContext => ({
        em: forkEm(),
        principal: ctx.extra.principal,
        resolvers: edge.resolvers,
        cache: new RequestCache(getOperationAST(args.document, args.operationName)?.operation !== OperationTypeNode.SUBSCRIPTION),
      }),
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        try {
          const header = typeof authorization === 'string' ? authorization : undefined;
          const principal = await authenticate(forkEm(), header);
          Object.assign(ctx.extra, { principal, subscriptions: 0 });
          ctx.extra.recheck = setInterval(() => void recheck(ctx.extra, header), config.graphqlWsRecheckSeconds * 1000).unref();
          metrics.wsConnections.inc();
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
        // Parse and validate here rather than leave it to graphql-ws: an operation it rejected
        // later would never reach onComplete and would hold its place under the cap for good.
        let document: DocumentNode;
        try {
          // The same limits as the HTTP path: tokens while parsing, then aliases, directives, depth, cost.
          document = parse(payload.query, parseOptionsOf(limits));
          const invalid = validate(schema, document, rules);
          if (invalid.length > 0) return invalid;
          if (!getOperationAST(document, payload.operationName)) return [new GraphQLError('Unable to identify operation')];
          checkQueryCost(schema, document, payload.variables ?? undefined, payload.operationName, limits.maxCost);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        ctx.extra.subscriptions = active + 1;
        const args: ExecutionArgs = { schema, document, variableValues: payload.variables, operationName: payload.operationName };
        return args;
      },
      onOperation: (ctx, id, _payload, _args, result) => {
        if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
          (ctx.extra.live ??= new Set()).add(id);
          live += 1;
          metrics.subscriptions.inc();
        }
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map(format) } : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
      onComplete: (ctx, id) => {
        ctx.extra.subscriptions = Math.max(0, (ctx.extra.subscriptions ?? 1) - 1);
        if (ctx.extra.live?.delete(id)) {
          live -= 1;
          metrics.subscriptions.dec();
        }
      },
      // graphql-ws completes (onComplete) every open subscription before this runs.
      onDisconnect: (ctx) => {
        clearInterval(ctx.extra.recheck);
        metrics.wsConnections.dec();
      },
      // A socket closed before or during connection_init never reaches onDisconnect.
      onClose: (ctx) => clearInterval(ctx.extra.recheck),
    },
    wss,
  );

  return {
    connections: () => wss.clients.size,
    liveSubscriptions: () => live,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.close(GOING_AWAY, 'Server shutting down');
        wss.close(() => resolve());
      }),
  };
}
