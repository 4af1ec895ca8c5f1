import 'reflect-metadata';

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { graphql, type GraphQLSchema } from 'graphql';
import {
  Arg,
  Authorized,
  buildSchema,
  Ctx,
  Field,
  FieldResolver,
  InputType,
  Int,
  type MiddlewareFn,
  Mutation,
  ObjectType,
  Query,
  registerEnumType,
  Resolver,
  Root,
  UseMiddleware,
} from 'type-graphql';

import { installDirectResolvers } from '../../src/graphql/direct-resolvers.js';

const shouting: MiddlewareFn = async (_data, next) => String(await next()).toUpperCase();

enum Mood {
  CALM = 'CALM',
  LOUD = 'LOUD',
}
registerEnumType(Mood, { name: 'Mood' });

@InputType()
class Rename {
  @Field(() => String)
  name!: string;
}

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

  @Authorized()
  @Query(() => String)
  hello(@Ctx() ctx: Context, @Arg('times', () => Int, { defaultValue: 1 }) times: number, @Arg('mood', () => Mood, { nullable: true }) mood?: Mood): string {
    return `${ctx.who}: ${'hi '.repeat(times)}${mood ?? 'no mood'}`;
  }

  @Authorized()
  @Mutation(() => String)
  rename(@Arg('to', () => Rename) to: Rename): string {
    // An input object is converted by type-graphql into an instance of its class.
    return `${to.name} ${to instanceof Rename ? 'as Rename' : 'as a plain object'}`;
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
const authChecker = ({ context }: { context: unknown }): boolean => (context as Context).admin;
const build = (): Promise<GraphQLSchema> => buildSchema({ resolvers: [ThingResolver], container: { get: () => instance }, authChecker, validate: false });

const THINGS = '{ things { name secret loud greet repeat(times: 2) guarded } }';
const run = async (schema: GraphQLSchema, admin: boolean, source = THINGS) =>
  JSON.parse(JSON.stringify(await graphql({ schema, source, contextValue: { who: 'test', admin } }))) as unknown;

/**
 * An answer with its errors reduced to message, code and the path's first two steps: when
 * several fields of a list item are refused, which one graphql-js reports first depends on
 * promise timing, and that is all that differs.
 */
const outcome = async (schema: GraphQLSchema, admin: boolean, source: string) => {
  const { data, errors } = (await run(schema, admin, source)) as { data: unknown; errors?: { message: string; path: (string | number)[]; extensions: unknown }[] };
  return { data, errors: errors?.map(({ message, path, extensions }) => ({ message, at: path.slice(0, 2), extensions })) };
};

describe('direct resolvers', () => {
  it('answer exactly what type-graphql does, with and without authorization', async () => {
    const wrapped = await build();
    const direct = await build();
    // name (plain), things, hello, rename, greet, repeat, guarded; not secret (a plain field with roles) or loud (middleware).
    assert.equal(
      installDirectResolvers(direct, () => instance, { resolvers: [ThingResolver], authChecker, validate: false }),
      7,
    );
    const operations = [THINGS, '{ hello }', '{ hello(times: 2, mood: LOUD) }', 'mutation { rename(to: { name: "x" }) }'];
    for (const source of operations) {
      for (const admin of [true, false]) assert.deepEqual(await outcome(direct, admin, source), await outcome(wrapped, admin, source), `${source}, admin: ${admin}`);
    }

    const refused = (await run(direct, false)) as { errors: { path: (string | number)[] }[]; data: unknown };
    // Fields with @Authorized still ask the auth checker: non-null fields refused null the whole list.
    assert.deepEqual(refused.data, null);
    assert.ok(refused.errors.some((error) => error.path.join('.').startsWith('things.0.')));
    const anonymous = (await run(direct, false, '{ hello }')) as { errors: { message: string }[] };
    assert.match(anonymous.errors[0]!.message, /Access denied/);

    const allowed = (await run(direct, true)) as { data: { things: Record<string, string>[] } };
    assert.deepEqual(allowed.data.things, [
      { name: 'made', secret: 's1', loud: 'QUIET', greet: 'hello made from test, a Thing', repeat: 'mademade', guarded: 'guarded made' },
      { name: 'plain', secret: 's2', loud: 'HUSH', greet: 'hello plain from test, a Thing', repeat: 'plainplain', guarded: 'guarded plain' },
    ]);
    assert.deepEqual(await run(direct, true, '{ hello(times: 2, mood: LOUD) }'), { data: { hello: 'test: hi hi LOUD' } });
    assert.deepEqual(await run(direct, true, 'mutation { rename(to: { name: "x" }) }'), { data: { rename: 'x as Rename' } });
  });

  it('leave every method of a class the schema was not built with to type-graphql', async () => {
    const schema = await build();
    assert.equal(
      installDirectResolvers(schema, () => instance, { resolvers: [], authChecker, validate: false }),
      1,
      'only the plain field',
    );
    assert.deepEqual(await run(schema, true), await run(await build(), true), 'the field resolvers still answer');
  });
});
