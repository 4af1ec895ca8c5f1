/**
 * GraphQL limits that count what costs (issue 11, findings 6 and 7): aliases, directives,
 * tokens, depth and cost on HTTP and on the WebSocket, each refusal a 400 with what was
 * exceeded; repeated fields load once per request; forged cursors are the client's mistake.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { encodeCursor } from '../../src/lib/pagination.js';
import { createCustomer, createDevice, type TestCustomer } from '../factories/accounts.js';
import { createTrip } from '../factories/trips.js';
import { type GraphQLResponse, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { connectWs } from '../support/ws-client.js';

/** The request of finding 6: 2,400 aliased `me { email }`, 47 KB, under the old cost limit. */
const ME_FLOOD = `{ ${Array.from({ length: 2400 }, (_, i) => `a${i}: me { email }`).join(' ')} }`;
const aliasedMe = (n: number): string => `{ ${Array.from({ length: n }, (_, i) => `m${i}: me { email }`).join(' ')} }`;

describe('GraphQL limits and malformed input', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;

  /** `token` null: without credentials. */
  const post = (query: string, variables: Record<string, unknown> = {}, token: string | null = acme.apiToken) =>
    request<GraphQLResponse<Record<string, unknown>>>(t.baseUrl, 'POST', '/graphql', { token: token ?? undefined, body: { query, variables } });

  /** Asserts an HTTP 400 whose one error carries `code` and a message matching `message`. */
  async function refused(query: string, code: string, message: RegExp, variables: Record<string, unknown> = {}): Promise<void> {
    const res = await post(query, variables);
    assert.equal(res.status, 400, `${query.slice(0, 80)}: ${JSON.stringify(res.body).slice(0, 300)}`);
    assert.equal(res.body.data, undefined);
    assert.deepEqual(
      res.body.errors?.map((e) => e.extensions?.code),
      [code],
    );
    assert.match(res.body.errors[0]!.message, message);
  }

  before(async () => {
    // Only the API: no job runner or dispatcher queries mixed into the counts below.
    t = await startTestApp({}, { role: 'api' });
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
  });
  after(() => t.close());

  it('refuses what costs too much with HTTP 400 naming the limit, never a 500', async () => {
    const deep = '{ trips { edges { node { task { trip { task { trip { task { trip { task { trip { id } } } } } } } } } } } }';
    await refused(deep, 'QUERY_TOO_DEEP', /depth limit of 10 exceeded, found 12/);
    const page = (alias: string) => `${alias}: trips(first: 200) { edges { node { task { trip { device { name } } } } } }`;
    // Twice: the second is answered from the costs already counted for this document, the same way.
    for (let i = 0; i < 2; i++) await refused(`{ ${['a', 'b', 'c', 'd', 'e'].map(page).join(' ')} }`, 'QUERY_TOO_COSTLY', /cost 6005 exceeds the limit of 5000/);
    await refused(aliasedMe(31), 'TOO_MANY_ALIASES', /Aliases limit of 30 exceeded, found 31/);
    await refused(`{ me { ${'email @skip(if: false) '.repeat(51)}} }`, 'TOO_MANY_DIRECTIVES', /Directives limit of 50 exceeded, found 51/);
    await refused(ME_FLOOD, 'GRAPHQL_PARSE_FAILED', /more th\w+ 5000 tokens/);
  });

  it('refuses page sizes and variables out of range with HTTP 400 before anything runs', async () => {
    for (const first of [-1, 0, 201, 1_000_000_000, 201]) {
      await refused('query($f: Int) { tasks(first: $f) { totalCount } }', 'BAD_USER_INPUT', /first must be between 1 and 200/, { f: first });
      await refused(`{ trips(first: ${first}) { totalCount } }`, 'BAD_USER_INPUT', /first must be between 1 and 200/);
    }
    await refused('query($s: TaskState) { tasks(state: $s) { totalCount } }', 'BAD_USER_INPUT', /"NOPE" does not exist in "TaskState"/, { s: 'NOPE' });
    await refused('{ tasks(first: 10000000000) { totalCount } }', 'GRAPHQL_VALIDATION_FAILED', /non 32-bit signed integer/);
  });

  it('answers a forged after cursor with BAD_USER_INPUT, not a database error', async () => {
    const forged = [
      ['tasks', encodeCursor(['abc'])],
      ['tasks', encodeCursor([1.5e300])],
      ['tasks', encodeCursor([-3])],
      ['trips', encodeCursor(['abc', 'xyz'])],
      ['trips', encodeCursor(['2026-01-01T00:00:00Z', 'not-a-uuid'])],
      ['trips', 'not base64 at all!'],
    ];
    for (const [field, after] of forged) {
      const res = await post(`query($a: String) { ${field}(after: $a) { totalCount } }`, { a: after });
      assert.deepEqual(
        res.body.errors?.map((e) => [e.extensions?.code, e.message]),
        [['BAD_USER_INPUT', 'after is not a valid cursor; pass the endCursor of a page']],
        `${field} ${after}`,
      );
    }
    // A genuine cursor still pages.
    for (const day of ['01', '02', '03']) await createTrip(t.db.orm, acme, await createDevice(t.db.orm, acme), `2026-02-${day}T08:00:00.000000Z`);
    const first = await post('{ trips(first: 2) { edges { node { startTimeUtc } } pageInfo { endCursor } } }');
    const { endCursor } = (first.body.data!.trips as { pageInfo: { endCursor: string } }).pageInfo;
    const next = await post('query($a: String) { trips(first: 2, after: $a) { edges { node { startTimeUtc } } } }', { a: endCursor });
    assert.deepEqual(next.body.data, { trips: { edges: [{ node: { startTimeUtc: '2026-02-01T08:00:00.000000Z' } }] } });
  });

  it('loads `me` once per request however often it is aliased, and related rows once per page', async () => {
    const knex = t.db.orm.em.getConnection().getKnex();
    /** Statements the ORM sends while answering `query`. */
    const queriesOf = async (query: string, token: string): Promise<number> => {
      let count = 0;
      const onQuery = () => void count++;
      knex.on('query', onQuery);
      try {
        const res = await post(query, {}, token);
        assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      } finally {
        knex.off('query', onQuery);
      }
      return count;
    };
    // The first use of a token in a minute also records it: not part of what is counted.
    await post('{ me { email } }');
    const single = await queriesOf(aliasedMe(1), acme.apiToken);
    assert.equal(await queriesOf(aliasedMe(30), acme.apiToken), single);

    // Trips on devices of their own: one query for all the devices and one for all the tasks.
    const initech = await createCustomer(t.db.orm, t.config, 'Initech');
    const trip = async (day: string) => createTrip(t.db.orm, initech, await createDevice(t.db.orm, initech), `2026-04-${day}T08:00:00.000000Z`);
    const page = '{ trips(first: 3) { edges { node { device { id name } task { id } } } } }';
    await trip('01');
    await post('{ me { email } }', {}, initech.apiToken);
    const oneTrip = await queriesOf(page, initech.apiToken);
    await trip('02');
    await trip('03');
    assert.equal(await queriesOf(page, initech.apiToken), oneTrip);
  });

  it('answers an alias named __proto__ as an ordinary key, as every other alias', async () => {
    const res = await post('{ __proto__: me { email } me { __proto__: email } }');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const data = res.body.data as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(data), ['__proto__', 'me']);
    assert.deepEqual(Object.entries(data['__proto__']!), [['email', acme.email]]);
    assert.deepEqual(Object.entries(data.me!), [['__proto__', acme.email]]);
  });

  it('hides "Did you mean" from callers without credentials, not from customers', async () => {
    const anonymous = await post('{ mee { email } }', {}, null);
    assert.equal(anonymous.status, 400);
    assert.equal(anonymous.body.errors?.[0]?.message, 'Cannot query field "mee" on type "Query".');
    const signedIn = await post('{ mee { email } }');
    assert.match(signedIn.body.errors?.[0]?.message ?? '', /Did you mean "me"\?/);
  });

  it('applies the alias, directive and token limits on the WebSocket too', async () => {
    const socket = connectWs(t.baseUrl, `APIToken ${acme.apiToken}`);
    try {
      const aliases = socket.subscribe(`subscription { tripExportFinished { ${Array.from({ length: 31 }, (_, i) => `e${i}: eventId`).join(' ')} } }`);
      const directives = socket.subscribe(`subscription { tripExportFinished { ${'eventId @include(if: true) '.repeat(51)} } }`);
      const tokens = socket.subscribe(`subscription { tripExportFinished { eventId ${'__typename '.repeat(5000)} } }`);
      const messages = (s: { errors: unknown[] }) => JSON.stringify(s.errors);
      await waitFor(() => aliases.errors.length && directives.errors.length && tokens.errors.length, 'three refusals');
      assert.match(messages(aliases), /Aliases limit of 30 exceeded, found 31.*TOO_MANY_ALIASES/);
      assert.match(messages(directives), /Directives limit of 50 exceeded, found 51.*TOO_MANY_DIRECTIVES/);
      assert.match(messages(tokens), /more th\w+ 5000 tokens/);
      assert.deepEqual([aliases.events, directives.events, tokens.events], [[], [], []]);
    } finally {
      await socket.dispose();
    }
  });

  it("answers another customer's GET /tasks/ within a second while aliased `me` floods run", async () => {
    const floods = Array.from({ length: 4 }, () => post(ME_FLOOD));
    const started = performance.now();
    const other = await request(t.baseUrl, 'GET', '/tasks/', { token: globex.apiToken });
    const waited = performance.now() - started;
    assert.equal(other.status, 200);
    assert.ok(waited < 1000, `GET /tasks/ waited ${Math.round(waited)} ms`);
    for (const flood of await Promise.all(floods)) assert.equal(flood.status, 400);
  });
});
