/**
 * What an operation selects below a field, read from its `GraphQLResolveInfo`: which fields of
 * the objects it answers (through fragments and aliases), and so which columns of their rows.
 */
import type { EntityMetadata } from '@mikro-orm/core';
import { ReferenceKind } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type FieldNode, getNamedType, type GraphQLObjectType, type GraphQLResolveInfo, isObjectType, Kind } from 'graphql';

/**
 * The fields selected on an object of `type` below `fieldNodes` (the nodes of one field, as
 * graphql-js hands them to its resolver), each with its own nodes: by field name, or by response
 * key (`by: 'alias'`), as graphql-js resolves them (an alias is a field resolved on its own).
 */
export function selectedFields(info: GraphQLResolveInfo, type: GraphQLObjectType, fieldNodes: readonly FieldNode[], by: 'name' | 'alias' = 'name'): Map<string, FieldNode[]> {
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
 * The extensions (type-graphql's `@Extensions`) of a field resolver that reads only these
 * properties of its parent's row, besides its id and references (which every row read for
 * GraphQL carries). A field resolver that does not say what it reads gets whole rows.
 */
export function reads(...properties: string[]): { readonly reads: readonly string[] } {
  return { reads: properties };
}

function isColumn(meta: EntityMetadata, name: string): boolean {
  const prop = meta.properties[name] as EntityMetadata['props'][number] | undefined;
  return prop !== undefined && prop.persist !== false && prop.fieldNames?.length === 1 && prop.kind === ReferenceKind.SCALAR;
}

/** The name of a loader of rows read with `columns` (every column when undefined): each selection's rows are its own. */
export function loaderOf(name: string, columns: readonly string[] | undefined): string {
  return `${name}:${columns?.join(',') ?? '*'}`;
}

/** By the field nodes graphql-js hands every row of a list alike, by entity: what {@link selectedColumns} answered. */
const answered = new WeakMap<readonly FieldNode[], Map<string, readonly string[] | undefined>>();

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
  const key = `${entity.name}:${path.join('.')}:${always.join(',')}`;
  let byEntity = answered.get(info.fieldNodes);
  if (byEntity?.has(key)) return byEntity.get(key);
  const columns = columnsOf(em.getMetadata().get(entity.name), info, path, always);
  if (!byEntity) answered.set(info.fieldNodes, (byEntity = new Map<string, readonly string[] | undefined>()));
  byEntity.set(key, columns);
  return columns;
}

function columnsOf(meta: EntityMetadata, info: GraphQLResolveInfo, path: readonly string[], always: readonly string[]): readonly string[] | undefined {
  const selection = selectionAt(info, path);
  if (!selection) return undefined;
  const wanted = new Set<string>(always);
  for (const [name] of selectedFields(info, selection.type, selection.fieldNodes)) {
    if (name === '__typename') continue;
    const declared = selection.type.getFields()[name]?.extensions.reads as readonly string[] | undefined;
    if (declared) {
      for (const property of declared) {
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
