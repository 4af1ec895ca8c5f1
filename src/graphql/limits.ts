import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { createRequire } from 'node:module';
import type * as QueryComplexity from 'graphql-query-complexity';

// The package's ES build imports graphql's .mjs files, a second copy of graphql next to the
// CommonJS one every other library here loads; its CommonJS build shares the one instance.
const { getComplexity, simpleEstimator } = createRequire(import.meta.url)('graphql-query-complexity') as typeof QueryComplexity;
type ComplexityEstimator = QueryComplexity.ComplexityEstimator;

export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
}

/** A list field costs its children times the page size it asks for. */
const pageEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const size = [args.first, args.limit].find((v): v is number => typeof v === 'number');
  return size === undefined ? undefined : 1 + childComplexity * Math.max(1, size);
};

function depthOf(
  set: SelectionSetNode | undefined,
  fragments: Map<string, FragmentDefinitionNode>,
  seen: Set<string>,
): number {
  if (!set) return 0;
  let max = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith('__')) continue;
      max = Math.max(max, selection.selectionSet ? 1 + depthOf(selection.selectionSet, fragments, seen) : 1);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      max = Math.max(max, depthOf(selection.selectionSet, fragments, seen));
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) continue;
      max = Math.max(max, depthOf(fragment.selectionSet, fragments, new Set([...seen, name])));
    }
  }
  return max;
}

/**
 * Rejects an operation that nests deeper or costs more than the limits. Used by the
 * HTTP path (an Apollo plugin) and the WebSocket path (graphql-ws `onSubscribe`) alike.
 */
export function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined | null,
  limits: QueryLimits,
): void {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    if (def.kind === Kind.OPERATION_DEFINITION) operations.push(def);
  }
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return;
  const depth = depthOf(operation.selectionSet, fragments, new Set());
  if (depth > limits.maxDepth) {
    throw new GraphQLError(`Query depth ${depth} exceeds the limit of ${limits.maxDepth}`, {
      extensions: { code: 'QUERY_TOO_DEEP', depth, maxDepth: limits.maxDepth },
    });
  }
  const cost = getComplexity({
    schema,
    query: document,
    variables: variables ?? {},
    operationName: operationName ?? undefined,
    estimators: [pageEstimator, simpleEstimator({ defaultComplexity: 1 })],
  });
  if (cost > limits.maxCost) {
    throw new GraphQLError(`Query cost ${cost} exceeds the limit of ${limits.maxCost}`, {
      extensions: { code: 'QUERY_TOO_COSTLY', cost, maxCost: limits.maxCost },
    });
  }
}
