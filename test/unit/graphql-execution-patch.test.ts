/**
 * The patch `npm ci` applies to graphql-js (patches/README.md): answers are built as fast
 * objects whose prototype chain ends without Object.prototype, and fields without arguments
 * skip the argument dictionary. What a resolver receives and what a client reads are unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { buildSchema, execute, parse } from 'graphql';

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
});
