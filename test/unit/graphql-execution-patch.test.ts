/**
 * The patch `npm ci` applies to graphql-js (patches/README.md): answers are built as fast
 * objects whose prototype chain ends without Object.prototype, fields without arguments skip
 * the argument dictionary, a scalar read from a property skips the resolver call, and the
 * subfields of an operation without @skip/@include are collected once for all its executions.
 * What a resolver receives and what a client reads are unchanged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

import { buildSchema, type DocumentNode, execute, type ExecutionResult, GraphQLError, type GraphQLObjectType, type GraphQLScalarType, parse } from 'graphql';

const schema = buildSchema(`
  type Query { me: User, greeting(name: String = "world", loud: Boolean): String, plain: String }
  type User { email: String }
`);

const rootValue = {
  me: () => ({ email: 'ops@acme.test' }),
  greeting: (args: { name: string; loud?: boolean }) => JSON.stringify(args),
  plain: (args: object) => `${Object.getPrototypeOf(args) === Object.prototype} ${Object.keys(args).length}`,
};

async function run(query: string): Promise<Record<string, unknown>> {
  const result = await execute({ schema, document: parse(query), rootValue });
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data as Record<string, unknown>;
}

describe('graphql-js as patched by npm ci', () => {
  it('is patched: answers are not Object.create(null) dictionaries, yet inherit nothing', async () => {
    const data = await run('{ me { email } }');
    const prototype: unknown = Object.getPrototypeOf(data);
    assert.notEqual(prototype, null, 'graphql-js answers with Object.create(null): run `npm ci` (postinstall applies patches/)');
    assert.equal(Object.getPrototypeOf(prototype), null);
    assert.equal(Object.keys(prototype as object).length, 0);
    assert.equal('toString' in data, false);
  });

  it('answers an alias named __proto__ as an ordinary key, prototype untouched', async () => {
    const data = await run('{ __proto__: me { email } other: me { __proto__: email } }');
    assert.equal(JSON.stringify(data), '{"__proto__":{"email":"ops@acme.test"},"other":{"__proto__":"ops@acme.test"}}');
    assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(data)), null);
    assert.equal((data as { email?: unknown }).email, undefined);
    assert.equal(({} as { email?: unknown }).email, undefined);
  });

  it('hands resolvers the same arguments: an empty plain object, defaults, given values', async () => {
    const data = await run('{ plain a: greeting b: greeting(name: "fleet", loud: true) }');
    assert.deepEqual({ ...data }, { plain: 'true 0', a: '{"name":"world"}', b: '{"name":"fleet","loud":true}' });
  });

  it('is patched in both builds of execute (CommonJS and ES module)', () => {
    const execution = createRequire(import.meta.url).resolve('graphql/execution/execute.js');
    for (const file of [execution, execution.replace(/\.js$/, '.mjs')]) {
      const source = readFileSync(file, 'utf8');
      assert.match(source, /function plainLeafValue\(/, `${file} has no scalar fast path: run \`npm ci\``);
      assert.match(source, /function subfieldsOfOperation\(/, `${file} collects subfields per execution: run \`npm ci\``);
    }
  });
});

/** Scalars read from properties, each way the fast path must hand back to graphql-js. */
describe('graphql-js as patched: scalar fields read from properties', () => {
  let reads = 0;
  const fieldSchema = buildSchema(`
    scalar Stamp
    enum Mood { CALM LOUD }
    type Row { id: ID!, name: String, count: Int, mood: Mood, must: String!, at: Stamp, later: String, fn(x: Int = 2): Int, getter: String, counted: String, own: String }
    type Query { rows: [Row!]! }
  `);
  // A scalar with a resolver of its own is resolved by it, never read from the property.
  (fieldSchema.getType('Row') as GraphQLObjectType).getFields().own!.resolve = (source: { name: string }) => `own ${source.name}`;
  (fieldSchema.getType('Stamp') as GraphQLScalarType).serialize = (value) => {
    if (value instanceof Date) return value.toISOString();
    if (value === 'nullish') return null;
    throw new GraphQLError(`not a stamp: ${String(value)}`);
  };
  // Getters of `extra` stay getters.
  const row = (id: number, extra: Record<string, unknown> = {}) =>
    Object.defineProperties(
      {
        id,
        name: `row ${id}`,
        count: id * 10,
        mood: 'CALM',
        must: 'here',
        at: new Date(Date.UTC(2026, 0, id)),
        later: Promise.resolve(`later ${id}`),
        fn: (args: { x: number }) => args.x * id,
        own: 'the property, not the resolver',
        get getter() {
          return `got ${id}`;
        },
        get counted() {
          reads++;
          return 'once';
        },
      },
      Object.getOwnPropertyDescriptors(extra),
    );

  const run = async (rows: unknown[], query: string): Promise<ExecutionResult> => execute({ schema: fieldSchema, document: parse(query), rootValue: { rows } });

  it('answers plain values, promises, functions with their arguments and getters as before', async () => {
    reads = 0;
    const result = await run([row(1), row(2)], '{ rows { id name count mood at later fn f3: fn(x: 3) getter counted own } }');
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    assert.equal(
      JSON.stringify(result.data),
      JSON.stringify({
        rows: [
          { id: '1', name: 'row 1', count: 10, mood: 'CALM', at: '2026-01-01T00:00:00.000Z', later: 'later 1', fn: 2, f3: 3, getter: 'got 1', counted: 'once', own: 'own row 1' },
          { id: '2', name: 'row 2', count: 20, mood: 'CALM', at: '2026-01-02T00:00:00.000Z', later: 'later 2', fn: 4, f3: 6, getter: 'got 2', counted: 'once', own: 'own row 2' },
        ],
      }),
    );
    assert.equal(reads, 2, 'a getter that succeeds is read once per row');
  });

  it('reports each failing scalar where it failed, as graphql-js does', async () => {
    const result = await run(
      [
        row(1, { name: undefined, mood: 'SLEEPY' }),
        row(2, {
          at: 'yesterday',
          get getter() {
            throw new Error('getter broke');
          },
        }),
        row(3, { at: 'nullish' }),
      ],
      '{ rows { id name mood at getter } }',
    );
    const rows = (result.data as { rows: Record<string, unknown>[] }).rows.map((r) => ({ ...r }));
    assert.deepEqual(rows, [
      { id: '1', name: null, mood: null, at: '2026-01-01T00:00:00.000Z', getter: 'got 1' },
      { id: '2', name: 'row 2', mood: 'CALM', at: null, getter: null },
      { id: '3', name: 'row 3', mood: 'CALM', at: null, getter: 'got 3' },
    ]);
    const errors = (result.errors ?? []).map((e) => `${e.path?.join('.')}: ${e.message}`).sort();
    assert.equal(errors.length, 4, errors.join('\n'));
    assert.match(errors[0]!, /^rows\.0\.mood: Enum "Mood" cannot represent value: "SLEEPY"/);
    assert.equal(errors[1], 'rows.1.at: not a stamp: yesterday');
    assert.equal(errors[2], 'rows.1.getter: getter broke');
    assert.match(errors[3]!, /^rows\.2\.at: Expected `Stamp\.serialize\("nullish"\)` to return non-nullable value/);
  });

  it('fails a non-null scalar that is missing with the path of the row', async () => {
    const result = await run([row(1), row(2, { must: null })], '{ rows { id must } }');
    assert.equal(result.data, null);
    assert.deepEqual(
      result.errors?.map((e) => [e.message, e.path]),
      [['Cannot return null for non-nullable field Row.must.', ['rows', 1, 'must']]],
    );
  });
});

/** One parsed document executed many times, as Apollo executes every request of the same text. */
describe('graphql-js as patched: subfields collected once per operation', () => {
  const shapes = buildSchema(`
    interface Shape { id: ID! }
    type Circle implements Shape { id: ID!, radius: Int }
    type Square implements Shape { id: ID!, side: Int }
    type Query { shapes: [Shape!]!, circle: Circle }
  `);
  const rootValue = {
    shapes: [
      { __typename: 'Circle', id: 'c', radius: 2 },
      { __typename: 'Square', id: 's', side: 3 },
    ],
    circle: { id: 'only', radius: 1 },
  };
  const resolveType = (value: { __typename: string }) => value.__typename;
  const run = async (document: DocumentNode, variableValues?: Record<string, unknown>) => {
    const result = await execute({ schema: shapes, document, rootValue, variableValues, typeResolver: resolveType });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return JSON.stringify(result.data);
  };

  it('collects per runtime type: each object of an interface list gets its own fields, every time', async () => {
    const document = parse('{ shapes { id ... on Circle { radius } ...square } } fragment square on Square { side }');
    for (let i = 0; i < 3; i++) assert.equal(await run(document), '{"shapes":[{"id":"c","radius":2},{"id":"s","side":3}]}');
  });

  it('follows the variables of @include and @skip in each execution of the same document', async () => {
    const document = parse('query ($r: Boolean!, $s: Boolean!) { circle { id radius @include(if: $r) } shapes { ...f } } fragment f on Shape { id @skip(if: $s) }');
    assert.equal(await run(document, { r: true, s: false }), '{"circle":{"id":"only","radius":1},"shapes":[{"id":"c"},{"id":"s"}]}');
    assert.equal(await run(document, { r: false, s: true }), '{"circle":{"id":"only"},"shapes":[{},{}]}');
    assert.equal(await run(document, { r: true, s: false }), '{"circle":{"id":"only","radius":1},"shapes":[{"id":"c"},{"id":"s"}]}');
  });

  it('merges a field selected twice, in each execution', async () => {
    const document = parse('{ circle { id } circle { radius } c2: circle { id } }');
    for (let i = 0; i < 2; i++) assert.equal(await run(document), '{"circle":{"id":"only","radius":1},"c2":{"id":"only"}}');
  });
});
