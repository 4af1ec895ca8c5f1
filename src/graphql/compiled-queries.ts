/**
 * Queries asked again and again run as code compiled for them (graphql-jit), not through
 * graphql-js's general executor.
 *
 * graphql-js walks the operation for every request: it collects each object's fields, looks up
 * their definitions, checks every value against its type, and builds each result object through
 * calls shared by every field of every query. For a dashboard page of 20 trips (about 200
 * fields) that walk was the largest single cost the page adds to a request, more than reading
 * its rows (bench/results.md, "API reads"). graphql-jit turns one operation into a function
 * that does the same steps for exactly its fields.
 *
 * What stays as it was:
 * - Parsing, validation, the query limits and the cost check run before, in Apollo, as always.
 * - Mutations run through graphql-js, always, and once: a compiled query only ever reads.
 * - Errors: an answer of the compiled query that holds any error is dropped, and graphql-js runs
 *   the operation again (reading twice changes nothing), so every error reaches the client as
 *   graphql-js and `formatGraphQLError` shape it, partial data included.
 * - A document is compiled only after it ran `compileAfter` times through graphql-js, so a
 *   client sending a new query each time costs the service no compilation at all. The compiled
 *   code lives as long as Apollo's own cache keeps the parsed document.
 */
import { type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, OperationTypeNode } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

import type { Metrics } from '../lib/metrics.js';

/** Runs so far of an operation not compiled yet, its compiled query, or `false` when graphql-jit cannot compile it. */
type Compilation = number | CompiledQuery | false;

/** The compiled queries of one schema, by document and operation name. */
export class CompiledQueries {
  private readonly byDocument = new WeakMap<DocumentNode, Map<string, Compilation>>();

  /** `compileAfter`: runs through graphql-js before a document is compiled; 0 never compiles. */
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly compileAfter: number,
  ) {}

  /** The compiled query for `operation` of `document`, once it has been asked for often enough; counts this run otherwise. */
  for(document: DocumentNode, operation: OperationDefinitionNode): CompiledQuery | undefined {
    if (this.compileAfter <= 0 || operation.operation !== OperationTypeNode.QUERY) return undefined;
    let byName = this.byDocument.get(document);
    if (!byName) this.byDocument.set(document, (byName = new Map<string, Compilation>()));
    const name = operation.name?.value ?? '';
    const state = byName.get(name) ?? 0;
    if (state === false) return undefined;
    if (typeof state !== 'number') return state;
    if (state < this.compileAfter) {
      byName.set(name, state + 1);
      return undefined;
    }
    const compiled = compileQuery(this.schema, document, operation.name?.value);
    byName.set(name, isCompiledQuery(compiled) ? compiled : false);
    return isCompiledQuery(compiled) ? compiled : undefined;
  }
}

/**
 * The Apollo plugin that answers a query with its compiled code when there is one and the
 * answer holds no error; otherwise Apollo runs graphql-js as it always does.
 */
export function compiledQueriesPlugin<TContext extends object>(queries: CompiledQueries, metrics: Pick<Metrics, 'compiledQueries'>): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async responseForOperation({ document, operation, request, contextValue }) {
          const compiled = queries.for(document, operation);
          if (!compiled) return null;
          const result = await compiled.query(undefined, contextValue, request.variables ?? {});
          if (result.errors?.length) {
            metrics.compiledQueries.inc({ outcome: 'errors' });
            return null;
          }
          metrics.compiledQueries.inc({ outcome: 'answered' });
          return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: result.data } } };
        },
      };
    },
  };
}
