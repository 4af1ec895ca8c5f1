import 'reflect-metadata';

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { graphql, type GraphQLSchema } from 'graphql';
import { Arg, Authorized, buildSchema, Ctx, Field, FieldResolver, Int, type MiddlewareFn, ObjectType, Query, Resolver, Root, UseMiddleware } from 'type-graphql';

import { installDirectResolvers } from '../../src/graphql/direct-resolvers.js';

const shouting: MiddlewareFn = async (_data, next) => String(await next()).toUpperCase();

@ObjectType()
class Thing {
  @Field(() => String)
  name!: string;

  @Authorized()
  @Field(() => String)
  secret!: string;

  @UseMiddleware(shouting)
  @Field(() => String)
  loud!: string;
}

interface Context {
  readonly who: string;
  readonly admin: boolean;
}

@Resolver(() => Thing)
class ThingResolver {
  readonly greeting = 'hello';

  @Query(() => [Thing])
  things(): Thing[] {
    const made = Object.assign(new Thing(), { name: 'made', secret: 's1', loud: 'quiet' });
    // Not an instance of Thing: type-graphql converts it before a @Root() of type Thing sees it.
    const plain = { name: 'plain', secret: 's2', loud: 'hush' };
    return [made, plain];
  }

  @FieldResolver(() => String)
  greet(@Root() thing: Thing, @Ctx() ctx: Context): string {
    return `${this.greeting} ${thing.name} from ${ctx.who}, ${thing instanceof Thing ? 'a Thing' : 'not a Thing'}`;
  }

  @FieldResolver(() => String)
  repeat(@Root() thing: Thing, @Arg('times', () => Int) times: number): string {
    return thing.name.repeat(times);
  }

  @Authorized()
  @FieldResolver(() => String)
  guarded(@Root() thing: Thing): string {
    return `guarded ${thing.name}`;
  }
}

const instance = new ThingResolver();
const build = (): Promise<GraphQLSchema> =>
  buildSchema({
    resolvers: [ThingResolver],
    container: { get: () => instance },
    authChecker: ({ context }) => (context as Context).admin,
    validate: false,
  });

const QUERY = '{ things { name secret loud greet repeat(times: 2) guarded } }';
const run = async (schema: GraphQLSchema, admin: boolean) => JSON.parse(JSON.stringify(await graphql({ schema, source: QUERY, contextValue: { who: 'test', admin } }))) as unknown;

describe('direct field resolvers', () => {
  it('answer exactly what type-graphql does, with and without authorization', async () => {
    const wrapped = await build();
    const direct = await build();
    // name (plain) and greet (root and context only); not secret, guarded (roles), loud (middleware), repeat (an argument).
    assert.equal(
      installDirectResolvers(direct, () => instance),
      2,
    );
    for (const admin of [true, false]) assert.deepEqual(await run(direct, admin), await run(wrapped, admin));

    const refused = (await run(direct, false)) as { errors: { path: (string | number)[] }[]; data: unknown };
    // Fields with @Authorized still ask the auth checker: non-null fields refused null the whole list.
    assert.deepEqual(refused.data, null);
    assert.ok(refused.errors.some((error) => error.path.join('.') === 'things.0.secret'));

    const allowed = (await run(direct, true)) as { data: { things: Record<string, string>[] } };
    assert.deepEqual(allowed.data.things, [
      { name: 'made', secret: 's1', loud: 'QUIET', greet: 'hello made from test, a Thing', repeat: 'mademade', guarded: 'guarded made' },
      { name: 'plain', secret: 's2', loud: 'HUSH', greet: 'hello plain from test, a Thing', repeat: 'plainplain', guarded: 'guarded plain' },
    ]);
  });
});
