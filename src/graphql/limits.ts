import { createRequire } from 'node:module';

import { ApolloArmor } from '@escape.tech/graphql-armor';
import { type DocumentNode, GraphQLError, type GraphQLSchema, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import type * as QueryComplexity from 'graphql-query-complexity';

import type { Config } from '../config/config.js';
import { MAX_PAGE_SIZE } from '../lib/pagination.js';

// The package's ES build imports graphql's .mjs files, a second copy of graphql next to the
// CommonJS one every other library here loads; its CommonJS build shares the one instance.
const { getComplexity, fieldExtensionsEstimator, simpleEstimator } = createRequire(import.meta.url)('graphql-query-complexity') as typeof QueryComplexity;
type ComplexityEstimator = QueryComplexity.ComplexityEstimator;

export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
  readonly maxAliases: number;
  readonly maxDirectives: number;
  readonly maxTokens: number;
}

/**
 * A refused operation: the client's fault, so HTTP 400 (Apollo reads `extensions.http`; the
 * WebSocket path has no status and just sends the error).
 */
export function refusal(message: string, code: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status: 400 } } });
}

/**
 * Documents are parsed with this: the token count is checked by the parser as it reads, so a
 * huge document is refused before it is ever turned into a tree.
 */
export const parseOptionsOf = (limits: QueryLimits): ParseOptions => ({ maxTokens: limits.maxTokens });

/**
 * graphql-armor's alias, directive and depth limits as plain validation rules, so Apollo (HTTP)
 * and graphql-ws run the very same ones. Fragments count as the fields they contain: depth is
 * the nesting of fields a dashboard sees, not of how it organised its fragments.
 */
export function limitRules(limits: QueryLimits): ValidationRule[] {
  // armor's messages start with "Syntax Error: " although nothing is wrong with the syntax.
  const report = (code: string) => (ctx: ValidationContext | null, error: GraphQLError) => ctx?.reportError(refusal(error.message.replace(/^Syntax Error: /, ''), code));
  const rule = (n: number, code: string) => ({ n, exposeLimits: true, propagateOnRejection: false, onReject: [report(code)] });
  return new ApolloArmor({
    maxAliases: rule(limits.maxAliases, 'TOO_MANY_ALIASES'),
    maxDirectives: rule(limits.maxDirectives, 'TOO_MANY_DIRECTIVES'),
    maxDepth: { ...rule(limits.maxDepth, 'QUERY_TOO_DEEP'), flattenFragments: true },
    // Tokens are counted by graphql's own parser (parseOptionsOf), on both paths alike; armor's
    // version is an Apollo plugin only. Cost is counted below, where variables are known.
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect().validationRules;
}

/**
 * A list field costs its children times the page size it asks for. A page size outside what
 * the resolvers accept is refused here already, before anything runs.
 */
const pageEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const size: unknown = args.first;
  if (typeof size !== 'number') return undefined;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw refusal(`first must be between 1 and ${MAX_PAGE_SIZE} (got ${size})`, 'BAD_USER_INPUT');
  }
  return 1 + childComplexity * size;
};

/**
 * Rejects an operation that costs more than the limit: every field resolved costs 1, list
 * fields times their page size, aliases counting as the fields they repeat. Needs the
 * variables, so it runs after validation: Apollo's didResolveOperation, graphql-ws's onSubscribe.
 */
export function checkQueryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined | null,
  maxCost: number,
): void {
  let cost: number;
  try {
    cost = getComplexity({
      schema,
      query: document,
      variables: variables ?? {},
      operationName: operationName ?? undefined,
      // A field's own `complexity` (a track's scan) before the defaults.
      estimators: [pageEstimator, fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (error) {
    // Variables that do not fit their types: execution would refuse them the same way.
    if (error instanceof GraphQLError) throw refusal(error.message, typeof error.extensions.code === 'string' ? error.extensions.code : 'BAD_USER_INPUT');
    throw error;
  }
  if (cost > maxCost) throw refusal(`Query cost ${cost} exceeds the limit of ${maxCost}`, 'QUERY_TOO_COSTLY', { cost, maxCost });
}

export const queryLimitsOf = (config: Config): QueryLimits => ({
  maxDepth: config.graphqlMaxDepth,
  maxCost: config.graphqlMaxCost,
  maxAliases: config.graphqlMaxAliases,
  maxDirectives: config.graphqlMaxDirectives,
  maxTokens: config.graphqlMaxTokens,
});
