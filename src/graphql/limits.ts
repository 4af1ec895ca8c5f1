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
 * Costs already counted, per parsed document (Apollo hands every request with the same query
 * text the same cached document) and then per operation and variables: a dashboard polling one
 * page pays the walk over its query once, not on every request.
 */
const counted = new WeakMap<DocumentNode, Map<string, number | Refused>>();

/** Why an operation's variables were refused: a new error is made from it for every request. */
interface Refused {
  readonly message: string;
  readonly code: string;
}
/** Variables differ per page and filter; a document keeps its most recent few. */
const COUNTED_PER_DOCUMENT = 64;

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
  let byRequest = counted.get(document);
  if (!byRequest) counted.set(document, (byRequest = new Map<string, number | Refused>()));
  const key = `${operationName ?? ''}\u0000${JSON.stringify(variables ?? {})}`;
  let outcome = byRequest.get(key);
  if (outcome === undefined) {
    outcome = costOf(schema, document, variables, operationName);
    if (byRequest.size >= COUNTED_PER_DOCUMENT) byRequest.clear();
    byRequest.set(key, outcome);
  }
  if (typeof outcome !== 'number') throw refusal(outcome.message, outcome.code);
  if (outcome > maxCost) throw refusal(`Query cost ${outcome} exceeds the limit of ${maxCost}`, 'QUERY_TOO_COSTLY', { cost: outcome, maxCost });
}

/** The operation's cost, or the refusal of variables that do not fit (the same every time). */
function costOf(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined | null): number | Refused {
  try {
    return getComplexity({
      schema,
      query: document,
      variables: variables ?? {},
      operationName: operationName ?? undefined,
      // A field's own `complexity` (a track's scan) before the defaults.
      estimators: [pageEstimator, fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (error) {
    // Variables that do not fit their types: execution would refuse them the same way.
    if (error instanceof GraphQLError) return { message: error.message, code: typeof error.extensions.code === 'string' ? error.extensions.code : 'BAD_USER_INPUT' };
    throw error;
  }
}

export const queryLimitsOf = (config: Config): QueryLimits => ({
  maxDepth: config.graphqlMaxDepth,
  maxCost: config.graphqlMaxCost,
  maxAliases: config.graphqlMaxAliases,
  maxDirectives: config.graphqlMaxDirectives,
  maxTokens: config.graphqlMaxTokens,
});
