import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { AuthThrottle } from '../lib/auth-throttle.js';
import { AppError } from '../lib/errors.js';
import { graphqlLandingPageHeaders } from '../lib/security-headers.js';
import type { Services } from '../services.js';
import type { GraphQLContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import { checkQueryLimits } from './limits.js';

/** Mounts Apollo on `POST/GET /graphql` with the body limit, depth and cost limits. */
export async function mountGraphQLHttp(app: FastifyInstance, schema: GraphQLSchema, services: Services, throttle: AuthThrottle): Promise<ApolloServer<GraphQLContext>> {
  const { config } = services;
  const limitsPlugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          checkQueryLimits(schema, document, request.variables, request.operationName, {
            maxDepth: config.graphqlMaxDepth,
            maxCost: config.graphqlMaxCost,
          });
        },
      };
    },
  };
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.graphqlIntrospection,
    // main.ts owns shutdown; Apollo's own handler would re-raise SIGTERM mid-drain.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    plugins: [fastifyApolloDrainPlugin(app), limitsPlugin],
    formatError: (formatted, error) => formatGraphQLError(formatted, error, (err) => app.log.error({ err }, 'graphql resolver failed')),
  });
  await apollo.start();
  const handler = fastifyApolloHandler(apollo, {
    context: async (request) => {
      let principal;
      try {
        principal = request.headers.authorization ? await services.auth.authenticate(request.em, request.headers.authorization) : undefined;
      } catch (error) {
        // A bad credential is not an anonymous call: every @Authorized field reports it.
        if (!(error instanceof AppError)) throw error;
        await throttle.credentialRefused(request);
        principal = undefined;
      }
      return { em: request.em, principal, services };
    },
  });
  app.route({ method: ['GET', 'POST', 'OPTIONS'], url: '/graphql', bodyLimit: config.graphqlBodyLimitBytes, helmet: graphqlLandingPageHeaders, handler });
  return apollo;
}
