/**
 * Resolvers called without type-graphql's per-call wrapper, where the wrapper adds nothing.
 *
 * type-graphql resolves every field of every object through a wrapper of its own: a plain field
 * (`@Field() name`) builds a resolver-data object and runs an empty middleware chain to read
 * `root.name`; a resolver method also looks its instance up in the container, sorts and maps
 * its parameters, converts and validates each argument (asynchronously, so a method with an
 * argument always answers a promise), and runs `@Authorized()` as an async middleware. A page of
 * 20 trips with their tasks resolves about 200 fields, and that wrapping was a tenth of the
 * page's CPU (bench/results.md, "API reads"). Here, after the schema is built, such fields get a
 * resolver that does the same work directly:
 *
 * - a plain field with no middleware and no `@Authorized`: it reads the property, as the wrapper did.
 *   Where the property has the field's name, the field gets no resolver at all: graphql-js's
 *   default resolver reads the same property, and graphql-js as patched at install
 *   (patches/README.md) completes such a scalar or enum field without a call, resolve info or
 *   path. (The default resolver would call a property holding a function; no plain field of an
 *   entity holds one.)
 * - a query, mutation or `@FieldResolver` method of a resolver class with no middleware and only
 *   `@Root()`, `@Ctx()`, `@Info()` and `@Arg()` parameters: it calls the method on the
 *   container's instance with them. `@Authorized` is checked first, by the same auth checker,
 *   with the same errors, and asynchronously as type-graphql does. An argument is handed over as graphql-js coerced it, which is what
 *   type-graphql hands over for a scalar or enum value with validation off; any other value (an
 *   input object, a list) and a root that is not an instance of the `@Root()` parameter's class
 *   go through type-graphql's own resolver, which converts them.
 *
 * Everything else (middleware, `@Args()`, custom parameter decorators, arguments validated, an
 * auth checker that is a class) keeps type-graphql's resolver. Subscriptions are left alone.
 */
import { type GraphQLField, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLSchema, isObjectType } from 'graphql';
import { type AuthChecker, AuthenticationError, AuthorizationError, getMetadataStorage, type ResolverData } from 'type-graphql';

type Resolve = GraphQLFieldResolver<unknown, unknown>;
type ResolverClass = abstract new (...args: never[]) => unknown;
type Storage = ReturnType<typeof getMetadataStorage>;
type Handler = Storage['queries'][number] | Storage['fieldResolvers'][number];
type Param = NonNullable<Handler['params']>[number];

/** How each parameter of a method is taken from graphql-js's call. */
type Source = { readonly kind: 'root' | 'context' | 'info'; readonly name?: undefined } | { readonly kind: 'arg'; readonly name: string };

export interface DirectResolverOptions {
  /** The resolver classes the schema was built with: a method of any other class is never installed. */
  readonly resolvers: readonly ResolverClass[];
  /** The auth checker the schema was built with; it must be a function (not a class). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any context: the checker is only called with the schema's own.
  readonly authChecker?: AuthChecker<any>;
  /** The schema was built with `validate: false` and no `globalMiddlewares`: arguments are handed over unvalidated. */
  readonly validate: false;
}

/** A value type-graphql's argument conversion answers unchanged. */
const isPlain = (value: unknown): boolean => value == null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

function sourceOf(param: Param): Source | undefined {
  switch (param.kind) {
    case 'root':
    case 'context':
      return param.propertyName === undefined ? { kind: param.kind } : undefined;
    case 'info':
      return { kind: 'info' };
    case 'arg':
      return param.validateSettings === undefined && param.validateFn === undefined ? { kind: 'arg', name: param.name } : undefined;
    default:
      return undefined;
  }
}

/** The resolver that calls `method` directly, or undefined where type-graphql's must stay. */
function directHandler(
  handler: Handler,
  wrapped: Resolve,
  instanceOf: (resolverClass: ResolverClass) => unknown,
  authChecker: DirectResolverOptions['authChecker'],
): Resolve | undefined {
  if ('kind' in handler && handler.kind !== 'external') return undefined;
  if ((handler.middlewares ?? []).length > 0) return undefined;
  const roles = handler.roles;
  if (roles !== undefined && (typeof authChecker !== 'function' || authChecker.prototype !== undefined)) return undefined;
  const params = [...(handler.params ?? [])].sort((a, b) => a.index - b.index);
  const sources = params.map(sourceOf);
  if (sources.some((source) => source === undefined) || params.some((param, i) => param.index !== i)) return undefined;
  const instance = instanceOf(handler.target as ResolverClass) as Record<string, (...args: unknown[]) => unknown>;
  const method = instance[handler.methodName];
  if (typeof method !== 'function') return undefined;
  const rootParam = params.find((param) => param.kind === 'root');
  const rootType = rootParam?.kind === 'root' ? (rootParam.getType?.() as unknown) : undefined;
  const rootClass = typeof rootType === 'function' ? (rootType as ResolverClass) : undefined;
  const argNames = (sources as Source[]).flatMap((source) => (source.kind === 'arg' ? [source.name] : []));

  const call: Resolve = (root, args, context, info) => {
    const values = (sources as Source[]).map((source) =>
      source.kind === 'root' ? root : source.kind === 'context' ? context : source.kind === 'info' ? info : (args as Record<string, unknown>)[source.name!],
    );
    return method.apply(instance, values);
  };
  // Asynchronous like type-graphql's auth middleware: a refusal is a rejected promise, so which
  // errors a list reports when several of its fields are refused stays the same.
  const check = authChecker as (data: ResolverData, roles: readonly unknown[]) => boolean | Promise<boolean>;
  const authorized: Resolve =
    roles === undefined
      ? call
      : async (root, args, context, info) => {
          if (!(await check({ root, args: args as unknown, context, info } as ResolverData, roles)))
            throw roles.length === 0 ? new AuthenticationError() : new AuthorizationError();
          return call(root, args, context, info);
        };
  return (root, args, context, info) => {
    if (rootClass && root != null && !(root instanceof rootClass)) return wrapped(root, args, context, info);
    for (const name of argNames) if (!isPlain((args as Record<string, unknown>)[name])) return wrapped(root, args, context, info);
    return authorized(root, args, context, info);
  };
}

/**
 * Installs the direct resolvers into `schema` (built by type-graphql from the metadata in this
 * process, with `instanceOf` as its container and the given options) and answers how many
 * fields got one.
 */
export function installDirectResolvers(schema: GraphQLSchema, instanceOf: (resolverClass: ResolverClass) => unknown, options: DirectResolverOptions): number {
  const storage = getMetadataStorage();
  const typeNames = new Map<unknown, string>(storage.objectTypes.map((type) => [type.target, type.name]));
  const fieldOf = (type: GraphQLObjectType | null | undefined, name: string): GraphQLField<unknown, unknown> | undefined => type?.getFields()[name];
  const objectType = (target: unknown): GraphQLObjectType | undefined => {
    const type = schema.getType(typeNames.get(target) ?? '');
    return isObjectType(type) ? type : undefined;
  };
  let installed = 0;
  const handled = new Set<unknown>();
  const built = new Set<unknown>(options.resolvers);
  const install = (field: GraphQLField<unknown, unknown> | undefined, handler: Handler): void => {
    if (!field?.resolve) return;
    // Whatever happens to this field, it is not a plain property read.
    handled.add(field);
    if (!built.has(handler.target)) return;
    const direct = directHandler(handler, field.resolve, instanceOf, options.authChecker);
    if (!direct) return;
    field.resolve = direct;
    installed++;
  };

  for (const query of storage.queries) install(fieldOf(schema.getQueryType(), query.schemaName), query);
  for (const mutation of storage.mutations) install(fieldOf(schema.getMutationType(), mutation.schemaName), mutation);
  for (const resolver of storage.fieldResolvers) install(fieldOf(objectType(resolver.getObjectType?.()), resolver.schemaName), resolver);

  for (const type of storage.objectTypes) {
    for (const plain of type.fields ?? []) {
      const field = fieldOf(objectType(type.target), plain.schemaName);
      if (!field?.resolve || handled.has(field) || plain.roles !== undefined || (plain.middlewares ?? []).length > 0) continue;
      const property = plain.name;
      field.resolve = property === field.name ? undefined : (root) => (root as Record<string, unknown>)[property];
      installed++;
    }
  }
  return installed;
}
