import 'reflect-metadata';

import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type PubSub } from 'type-graphql';

import { authChecker } from './graphql/auth-checker.js';
import type { ResolverContainer } from './graphql/context.js';
import { installDirectResolvers } from './graphql/direct-resolvers.js';
import { AccountResolver } from './modules/accounts/account.resolver.js';
import { DeliveryResolver } from './modules/announcements/delivery.resolver.js';
import { DeviceEventResolver } from './modules/announcements/device-event.resolver.js';
import { TripExportFinishedResolver } from './modules/announcements/trip-export-finished.resolver.js';
import { DeviceResolver, TemplateResolver } from './modules/devices/device.resolver.js';
import { TaskResolver, TaskUpdatedResolver, TripTaskResolver } from './modules/exports/task.resolver.js';
import { TriggerResolver } from './modules/triggers/trigger.resolver.js';
import { DeviceTripsResolver, TripResolver, TripUpdatedResolver } from './modules/trips/trip.resolver.js';
import type { Services } from './services.js';

/** Every resolver, each built with the services it uses. */
function resolverInstances(s: Services): object[] {
  return [
    new AccountResolver(s.auth),
    new DeviceResolver(s.devices, s.deviceDeletion),
    new TemplateResolver(s.devices),
    new TripResolver(s.trips),
    new DeviceTripsResolver(s.trips),
    new TriggerResolver(s.triggers),
    new DeliveryResolver(s.deliveries),
    new TripExportFinishedResolver(s.announcements),
    new DeviceEventResolver(s.deviceEvents),
    new TaskResolver(s.tasks),
    new TripTaskResolver(s.tasks),
    new TaskUpdatedResolver(s.tasks),
    new TripUpdatedResolver(s.trips),
  ];
}

/** The resolvers of `services`, looked up by class (type-graphql's container and `GraphQLContext.resolvers`). */
export function resolverContainer(services: Services): ResolverContainer {
  const byClass = new Map<unknown, object>(resolverInstances(services).map((instance) => [instance.constructor, instance]));
  return {
    get<T>(resolverClass: abstract new (...args: never[]) => T): T {
      const instance = byClass.get(resolverClass);
      if (!instance) throw new Error(`no resolver instance for ${resolverClass.name}`);
      return instance as T;
    },
  };
}

/** Every resolver class of the schema. */
const RESOLVERS = [
  AccountResolver,
  DeviceResolver,
  TemplateResolver,
  TripResolver,
  DeviceTripsResolver,
  TriggerResolver,
  DeliveryResolver,
  TripExportFinishedResolver,
  DeviceEventResolver,
  TaskResolver,
  TripTaskResolver,
  TaskUpdatedResolver,
  TripUpdatedResolver,
] as const;

/**
 * Builds the executable schema. `pubSub` carries subscription events (in-process or Redis);
 * type-graphql insists on one whenever there are subscriptions, so the schema printer gets
 * a throwaway in-process one, and no resolvers (it never runs them).
 */
export async function buildAppSchema(resolvers?: ResolverContainer, pubSub?: PubSub): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    ...(resolvers ? { container: { get: (resolverClass: abstract new (...args: never[]) => unknown) => resolvers.get(resolverClass) } } : {}),
    authChecker,
    pubSub: pubSub ?? createPubSub(),
    validate: false,
    emitSchemaFile: false,
    // No globalMiddlewares: installDirectResolvers calls resolvers without type-graphql's chain.
  });
  if (resolvers) installDirectResolvers(schema, (resolverClass) => resolvers.get(resolverClass), { resolvers: RESOLVERS, authChecker, validate: false });
  return schema;
}
