import 'reflect-metadata';

import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray, type PubSub } from 'type-graphql';

import { authChecker } from './graphql/auth-checker.js';
import { AccountResolver } from './modules/accounts/account.resolver.js';
import { DeliveryResolver } from './modules/announcements/delivery.resolver.js';
import { TripExportFinishedResolver } from './modules/announcements/trip-export-finished.resolver.js';
import { DeviceResolver, TemplateResolver } from './modules/devices/device.resolver.js';
import { TaskResolver, TaskUpdatedResolver, TripTaskResolver } from './modules/exports/task.resolver.js';
import { TriggerResolver } from './modules/triggers/trigger.resolver.js';
import { TripResolver, TripUpdatedResolver } from './modules/trips/trip.resolver.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const RESOLVERS: NonEmptyArray<Function> = [
  AccountResolver,
  DeviceResolver,
  TemplateResolver,
  TripResolver,
  TriggerResolver,
  DeliveryResolver,
  TripExportFinishedResolver,
  TaskResolver,
  TripTaskResolver,
  TaskUpdatedResolver,
  TripUpdatedResolver,
];

/**
 * Builds the executable schema. `pubSub` carries subscription events (in-process or Redis);
 * type-graphql insists on one whenever there are subscriptions, so the schema printer gets
 * a throwaway in-process one.
 */
export function buildAppSchema(pubSub?: PubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS,
    authChecker,
    pubSub: pubSub ?? createPubSub(),
    validate: false,
    emitSchemaFile: false,
  });
}
