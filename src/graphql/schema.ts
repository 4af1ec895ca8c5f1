import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray, type PubSub } from 'type-graphql';
import { AccountResolver } from '../modules/accounts/account.resolver.js';
import { DeviceResolver, TemplateResolver } from '../modules/devices/device.resolver.js';
import { TaskResolver, TripTaskResolver } from '../modules/tasks/task.resolver.js';
import { TripResolver } from '../modules/trips/trip.resolver.js';
import { authChecker } from './auth-checker.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const RESOLVERS: NonEmptyArray<Function> = [AccountResolver, DeviceResolver, TemplateResolver, TripResolver, TaskResolver, TripTaskResolver];

/** Builds the executable schema. `pubSub` carries subscription events (in-process or Redis). */
export function buildAppSchema(pubSub?: PubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS,
    authChecker,
    pubSub,
    validate: false,
    emitSchemaFile: false,
  });
}
