/**
 * Field resolvers called without type-graphql's per-call wrapper, where the wrapper does nothing.
 *
 * type-graphql resolves every field of every object through a wrapper of its own: a plain field
 * (`@Field() name`) builds a resolver-data object and runs an empty middleware chain to read
 * `root.name`; a `@FieldResolver` method also looks its resolver up in the container, sorts and
 * maps its parameters and checks each for a promise, on every call. A page of 20 trips with their
 * tasks resolves about 200 fields, and that wrapping was a tenth of the page's CPU (bench/results.md,
 * "API reads"). Here, after the schema is built, such fields get a resolver that does the same
 * work directly:
 *
 * - a plain field with no middleware and no `@Authorized`: it reads the property, as the wrapper did;
 * - a `@FieldResolver` method of a resolver class with no middleware and no `@Authorized`, whose
 *   parameters are only `@Root()`, `@Ctx()` and `@Info()` (at most three): it calls the method on
 *   the container's instance. A root that is not an instance of the `@Root()` parameter's class
 *   goes through type-graphql's own resolver, which converts it.
 *
 * Everything else (arguments, which type-graphql converts and may validate; middleware; roles)
 * keeps type-graphql's resolver.
 */
import { type GraphQLFieldResolver, type GraphQLSchema, isObjectType } from 'graphql';
import { getMetadataStorage } from 'type-graphql';

type Resolve = GraphQLFieldResolver<unknown, unknown>;
type ParamKind = 'root' | 'context' | 'info';

const DIRECT_PARAMS = new Set<string>(['root', 'context', 'info']);
const MAX_PARAMS = 3;

const pick = (kind: ParamKind | undefined, root: unknown, context: unknown, info: unknown): unknown =>
  kind === 'root' ? root : kind === 'context' ? context : kind === 'info' ? info : undefined;

/**
 * Installs the direct resolvers into `schema` (built by type-graphql from the metadata in this
 * process, with `instanceOf` as its container) and answers how many fields got one.
 */
export function installDirectResolvers(schema: GraphQLSchema, instanceOf: (resolverClass: abstract new (...args: never[]) => unknown) => unknown): number {
  const storage = getMetadataStorage();
  const typeNames = new Map<unknown, string>(storage.objectTypes.map((type) => [type.target, type.name]));
  const fieldOf = (target: unknown, name: string) => {
    const type = schema.getType(typeNames.get(target) ?? '');
    return isObjectType(type) ? type.getFields()[name] : undefined;
  };
  let installed = 0;
  const resolved = new Set<unknown>();

  for (const resolver of storage.fieldResolvers) {
    const objectType = resolver.getObjectType?.();
    const field = objectType ? fieldOf(objectType, resolver.schemaName) : undefined;
    if (!field) continue;
    // Whatever happens to this field, it is not a plain property read.
    resolved.add(field);
    const params = [...(resolver.params ?? [])].sort((a, b) => a.index - b.index);
    const direct =
      resolver.kind === 'external' &&
      resolver.roles === undefined &&
      (resolver.middlewares ?? []).length === 0 &&
      params.length <= MAX_PARAMS &&
      params.every((param, i) => param.index === i && DIRECT_PARAMS.has(param.kind) && !('propertyName' in param && param.propertyName !== undefined));
    if (!direct || !field.resolve) continue;
    const instance = instanceOf(resolver.target as abstract new (...args: never[]) => unknown) as Record<string, (...args: unknown[]) => unknown>;
    const method = instance[resolver.methodName];
    if (typeof method !== 'function') continue;
    const kinds = params.map((param) => param.kind as ParamKind);
    const rootParam = params.find((param) => param.kind === 'root');
    const rootType = rootParam && 'getType' in rootParam ? (rootParam.getType?.() as unknown) : undefined;
    const rootClass = typeof rootType === 'function' ? (rootType as abstract new (...args: never[]) => unknown) : undefined;
    const [k0, k1, k2] = kinds;
    const wrapped = field.resolve;
    const own: Resolve = (root, _args, context, info) => method.call(instance, pick(k0, root, context, info), pick(k1, root, context, info), pick(k2, root, context, info));
    field.resolve = rootClass
      ? (root, args, context, info) => (root == null || root instanceof rootClass ? own(root, args, context, info) : wrapped(root, args, context, info))
      : own;
    installed++;
  }

  for (const type of storage.objectTypes) {
    for (const plain of type.fields ?? []) {
      const field = fieldOf(type.target, plain.schemaName);
      if (!field?.resolve || resolved.has(field) || plain.roles !== undefined || (plain.middlewares ?? []).length > 0) continue;
      const property = plain.name;
      field.resolve = (root) => (root as Record<string, unknown>)[property];
      installed++;
    }
  }
  return installed;
}
