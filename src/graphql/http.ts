import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';

import type { Config } from '../config/config.js';
import type { AuthThrottle } from '../lib/auth-throttle.js';
import type { DatabaseOutage } from '../lib/database-outage.js';
import { AppError } from '../lib/errors.js';
import type { Principal } from '../lib/principal.js';
import { graphqlLandingPageHeaders } from '../lib/security-headers.js';
import type { GraphQLContext, ResolverContainer } from './context.js';
import { formatGraphQLError, requestGraphQLError, withoutSuggestions } from './errors.js';
import { checkQueryCost, limitRules, parseOptionsOf, queryLimitsOf } from './limits.js';
import { RequestCache } from './request-cache.js';

/**
 * Mounts Apollo on `POST/GET /graphql` with the body limit and the query limits (tokens while
 * parsing; aliases, directives and depth while validating; cost once the variables are known).
 * Every refusal is a 400.
 */
/** What the GraphQL edges need: the config, who the caller is, how to answer an outage, the resolvers. */
export interface GraphQLEdge {
  readonly config: Config;
  readonly authenticate: (em: EntityManager, authorization: string | undefined) => Promise<Principal>;
  readonly outage: DatabaseOutage;
  readonly resolvers: ResolverContainer;
}

export async function mountGraphQLHttp(app: FastifyInstance, schema: GraphQLSchema, edge: GraphQLEdge, throttle: AuthThrottle): Promise<ApolloServer<GraphQLContext>> {
  const { config, outage, resolvers } = edge;
  const limits = queryLimitsOf(config);
  const limitsPlugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          checkQueryCost(schema, document, request.variables, request.operationName, limits.maxCost);
        },
        // "Did you mean …" would spell out the schema to whoever probes it without an account.
        async didEncounterErrors({ contextValue, errors }) {
          if (!contextValue.principal) for (const error of errors) error.message = withoutSuggestions(error.message);
        },
      };
    },
  };
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.graphqlIntrospection,
    // main.ts owns shutdown; Apollo's own handler would re-raise SIGTERM mid-drain.
    stopOnTerminationSignals: false,
    // Apollo's own defaults stay those it had before NODE_ENV became production (src/node-env.ts):
    // the embedded Sandbox as the landing page; introspection and stack traces are set below.
    nodeEnv: 'development',
    includeStacktraceInErrorResponses: false,
    parseOptions: parseOptionsOf(limits),
    validationRules: limitRules(limits),
    // Apollo's cache-control plugin is on unless disabled, and it wraps every field of every
    // response to compute cache hints nobody here sets (a tenth of a 20-trip page's CPU).
    plugins: [fastifyApolloDrainPlugin(app), limitsPlugin, ApolloServerPluginCacheControlDisabled()],
    formatError: (formatted, error) => formatGraphQLError(formatted, error, outage, (err) => app.log.error({ err }, 'graphql resolver failed')),
  });
  await apollo.start();
  const handler = fastifyApolloHandler(apollo, {
    context: async (request) => {
      let principal;
      try {
        principal = request.headers.authorization ? await edge.authenticate(request.em, request.headers.authorization) : undefined;
      } catch (error) {
        // A bad credential is not an anonymous call: every @Authorized field reports it.
        if (error instanceof AppError) {
          await throttle.credentialRefused(request);
          principal = undefined;
        } else {
          // Without the database nothing can be answered: 503 and Retry-After, like REST.
          const unavailable = outage.toAppError(error);
          throw unavailable ? requestGraphQLError(unavailable) : error;
        }
      }
      return { em: request.em, principal, resolvers, cache: new RequestCache() };
    },
  });
  app.route({ method: ['GET', 'POST', 'OPTIONS'], url: '/graphql', bodyLimit: config.graphqlBodyLimitBytes, helmet: graphqlLandingPageHeaders, handler });
  return apollo;
}
