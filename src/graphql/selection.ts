/**
 * What an operation selects below a field, read from its `GraphQLResolveInfo`: which fields of
 * the objects it answers (through fragments and aliases), and so which columns of their rows.
 */
import type { EntityMetadata } from '@mikro-orm/core';
import { ReferenceKind } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type FieldNode, getNamedType, type GraphQLField, type GraphQLObjectType, type GraphQLResolveInfo, isObjectType, Kind } from 'graphql';

/**
 * Answers worked out below a field's nodes, remembered by the nodes, a type and a key. Apollo
 * hands every request of the same query text the same parsed document, so a field of one node
 * (nearly every field) is worked out once for all requests of that query, not once per request
 * and row; an answer must depend on nothing but the nodes (and the fragments of their document),
 * the type and the key. A field merged from several nodes is remembered for the nodes
 * graphql-js collected: one operation. Keys are constants where it is asked per row: a string
 * built per call would be hashed per call.
 */
export class BelowNodes<V> {
  /** By the one node of a field, or by the array of its nodes. */
  private readonly answers = new WeakMap<object, Map<object, Map<unknown, V>>>();

  get(fieldNodes: readonly FieldNode[], type: object, key: unknown, compute: () => V): V {
    const at = fieldNodes.length === 1 ? fieldNodes[0]! : fieldNodes;
    let byType = this.answers.get(at);
    if (!byType) this.answers.set(at, (byType = new Map<object, Map<unknown, V>>()));
    let byKey = byType.get(type);
    if (!byKey) byType.set(type, (byKey = new Map<unknown, V>()));
    if (byKey.has(key)) return byKey.get(key)!;
    const value = compute();
    byKey.set(key, value);
    return value;
  }
}

const fieldsBelow = new BelowNodes<ReadonlyMap<string, readonly FieldNode[]>>();
const columnsBelow = new BelowNodes<readonly string[] | undefined>();

/**
 * The fields selected on an object of `type` below `fieldNodes` (the nodes of one field, as
 * graphql-js hands them to its resolver), each with its own nodes: by field name, or by response
 * key (`by: 'alias'`), as graphql-js resolves them (an alias is a field resolved on its own).
 */
export function selectedFields(
  info: GraphQLResolveInfo,
  type: GraphQLObjectType,
  fieldNodes: readonly FieldNode[],
  by: 'name' | 'alias' = 'name',
): ReadonlyMap<string, readonly FieldNode[]> {
  return fieldsBelow.get(fieldNodes, type, by, () => collectFields(info, type, fieldNodes, by));
}

function collectFields(info: GraphQLResolveInfo, type: GraphQLObjectType, fieldNodes: readonly FieldNode[], by: 'name' | 'alias'): Map<string, FieldNode[]> {
  const fields = new Map<string, FieldNode[]>();
  const visit = (selections: FieldNode['selectionSet']): void => {
    for (const selection of selections?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const key = by === 'alias' ? (selection.alias ?? selection.name).value : selection.name.value;
        const nodes = fields.get(key) ?? [];
        nodes.push(selection);
        fields.set(key, nodes);
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : info.fragments[selection.name.value];
        const on = fragment?.typeCondition?.name.value;
        if (fragment && (!on || on === type.name || type.getInterfaces().some((i) => i.name === on))) visit(fragment.selectionSet);
      }
    }
  };
  for (const node of fieldNodes) visit(node.selectionSet);
  return fields;
}

/**
 * The object type at `path` below the resolved field (`['edges', 'node']`: the nodes of a
 * connection; `[]`: the field's own objects) and the nodes of the fields that lead there.
 */
export function selectionAt(info: GraphQLResolveInfo, path: readonly string[]): { type: GraphQLObjectType; fieldNodes: readonly FieldNode[] } | undefined {
  let type = getNamedType(info.returnType);
  let fieldNodes: readonly FieldNode[] = info.fieldNodes;
  for (const step of path) {
    if (!isObjectType(type)) return undefined;
    const field = type.getFields()[step];
    if (!field) return undefined;
    fieldNodes = selectedFields(info, type, fieldNodes).get(step) ?? [];
    type = getNamedType(field.type);
  }
  return isObjectType(type) && fieldNodes.length > 0 ? { type, fieldNodes } : undefined;
}

/**
 * The info graphql-js hands the resolver of the field `key` (a response key: its alias, or its
 * name) of an object of `type`, selected by `nodes`, below the field `info` is of: what a
 * resolver called ahead of graphql-js (prefetch, related rows) must see to ask for what
 * graphql-js's own call will ask for.
 */
export function fieldInfo(info: GraphQLResolveInfo, type: GraphQLObjectType, key: string, nodes: readonly FieldNode[]): GraphQLResolveInfo | undefined {
  const name = nodes[0]?.name.value;
  const field = name === undefined ? undefined : type.getFields()[name];
  if (!field) return undefined;
  return { ...info, fieldName: field.name, fieldNodes: nodes, returnType: field.type, parentType: type, path: { prev: info.path, key, typename: type.name } };
}

/**
 * The extensions (type-graphql's `@Extensions`) of a field resolver that reads only these
 * properties of its parent's row, besides its id and references (which every row read for
 * GraphQL carries). A field resolver that does not say what it reads gets whole rows.
 */
export function reads(...properties: string[]): { readonly reads: readonly string[] } {
  return { reads: properties };
}

/**
 * The extensions of a field resolver that builds its object from its parent's row: the
 * properties it reads whatever is selected (`always`), and those each field of its object
 * reads when selected (`below`, by field name). A selected field missing from `below` reads
 * the whole row.
 */
export function readsBelow(
  always: readonly string[],
  below: Readonly<Record<string, readonly string[]>>,
): { readonly reads: readonly string[]; readonly readsBelow: typeof below } {
  return { reads: always, readsBelow: below };
}

/** What `field`, selected by `nodes`, reads of its parent's row, by {@link readsBelow}; undefined: the whole row. */
function propertiesReadBelow(info: GraphQLResolveInfo, field: GraphQLField<unknown, unknown>, nodes: readonly FieldNode[]): readonly string[] | undefined {
  const below = field.extensions.readsBelow as Readonly<Record<string, readonly string[]>>;
  const objectType = getNamedType(field.type);
  if (!isObjectType(objectType)) return undefined;
  const wanted: string[] = [];
  for (const [sub] of selectedFields(info, objectType, nodes)) {
    if (sub === '__typename') continue;
    const properties = below[sub];
    if (!properties) return undefined;
    wanted.push(...properties);
  }
  return wanted;
}

function isColumn(meta: EntityMetadata, name: string): boolean {
  const prop = meta.properties[name] as EntityMetadata['props'][number] | undefined;
  return prop !== undefined && prop.persist !== false && prop.fieldNames?.length === 1 && prop.kind === ReferenceKind.SCALAR;
}

/** The key of {@link loaderOf}'s names for rows of every column (a list of columns always holds the primary key). */
const EVERY_COLUMN: readonly string[] = [];

/**
 * Loader names of a kind by scope, by list of columns (lists are remembered, see
 * {@link selectedColumns}), and the last one answered: a field resolver asks once per row, and
 * each row holds its own copy of the customer's id, which a Map would hash again each time.
 */
interface NamesOfKind {
  readonly byScope: Map<string, WeakMap<readonly string[], string>>;
  last?: { readonly scope: string; readonly columns: readonly string[]; readonly name: string };
}
const loaderNames = new Map<string, NamesOfKind>();

/**
 * The name of a loader of `kind` (`Trip`, `taskOfTrip`) for `scope` (a customer) of rows read
 * with `columns` (every column when undefined): each selection's rows are its own. The same
 * string is answered each time, so neither is it built again nor is its hash computed again
 * where a Map looks it up.
 */
export function loaderOf(kind: string, scope: string, columns: readonly string[] | undefined): string {
  const key = columns ?? EVERY_COLUMN;
  let names = loaderNames.get(kind);
  if (!names) loaderNames.set(kind, (names = { byScope: new Map<string, WeakMap<readonly string[], string>>() }));
  const last = names.last;
  if (last && last.columns === key && last.scope === scope) return last.name;
  let byColumns = names.byScope.get(scope);
  if (!byColumns) names.byScope.set(scope, (byColumns = new WeakMap<readonly string[], string>()));
  let name = byColumns.get(key);
  if (name === undefined) byColumns.set(key, (name = `${kind}:${scope}:${columns?.join(',') ?? '*'}`));
  names.last = { scope, columns: key, name };
  return name;
}

/**
 * The columns of `entity` that the fields selected at `path` below the resolved field read: the
 * primary key and every reference, `always`, and for each selected field its own column (a field
 * named as a column property) or what it declares with {@link reads}. Undefined, meaning every
 * column, when a selected field says neither: a row read with fewer columns can never reach a
 * field that needs one it lacks. The columns also name the row's loader, so rows read for one
 * selection are never handed to another.
 */
export function selectedColumns(
  em: EntityManager,
  entity: { readonly name: string },
  info: GraphQLResolveInfo,
  path: readonly string[] = [],
  always: readonly string[] = [],
): readonly string[] | undefined {
  // The same node (in a fragment) may be a field of several parent types, with other return types.
  // Asked once per row with neither: the entity itself is the key (its name is a getter).
  const key = path.length === 0 && always.length === 0 ? entity : `${entity.name}:${path.join('.')}:${always.join(',')}`;
  return columnsBelow.get(info.fieldNodes, info.parentType, key, () => columnsOf(em.getMetadata().get(entity.name), info, path, always));
}

function columnsOf(meta: EntityMetadata, info: GraphQLResolveInfo, path: readonly string[], always: readonly string[]): readonly string[] | undefined {
  const selection = selectionAt(info, path);
  if (!selection) return undefined;
  const wanted = new Set<string>(always);
  for (const [name, nodes] of selectedFields(info, selection.type, selection.fieldNodes)) {
    if (name === '__typename') continue;
    const field = selection.type.getFields()[name];
    const declared = field?.extensions.reads as readonly string[] | undefined;
    if (field && declared) {
      const below = field.extensions.readsBelow ? propertiesReadBelow(info, field, nodes) : [];
      if (!below) return undefined;
      for (const property of [...declared, ...below]) {
        if (!(property in meta.properties)) throw new Error(`${selection.type.name}.${name} declares it reads ${property}, which ${meta.className} does not have`);
        wanted.add(property);
      }
    } else if (isColumn(meta, name)) wanted.add(name);
    else return undefined;
  }
  return meta.props
    .filter(
      (prop) =>
        prop.persist !== false &&
        prop.fieldNames?.length === 1 &&
        (prop.primary || prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner) || wanted.has(prop.name)),
    )
    .map((prop) => prop.fieldNames[0]!);
}
