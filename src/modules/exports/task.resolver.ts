import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root, type SubscribeResolverData, Subscription } from 'type-graphql';

import { type GraphQLContext, loadOwned, principalOf } from '../../graphql/context.js';
import { PREFETCH, prefetchConnection } from '../../graphql/prefetch.js';
import { ownedRow, type Related, related, relatedRowsAt } from '../../graphql/related.js';
import type { MaybePromise } from '../../graphql/request-cache.js';
import { loaderOf, reads, readsBelow, selectedColumns } from '../../graphql/selection.js';
import type { ConnectionShape } from '../../lib/pagination.js';
import { Trip } from '../trips/trip.entity.js';
import { Task, TaskState, TRIP_EXPORT_TASK } from './task.entity.js';
import type { TaskService } from './task.service.js';
import { TaskConnection, TaskKwargs, TaskResult, taskResultOf, TaskUpdatedEvent } from './task.types.js';
import type { TaskUpdatedMessage } from './task-topics.js';

/** A task's trip, read with a page of tasks. */
const TRIP_OF_TASK = ownedRow(Trip, 'trips', 'trip_id');

/** A trip's task (none before its first export), read with a page of trips. */
const TASK_OF_TRIP: Related = {
  entity: Task,
  table: 'tasks',
  on: (task, trip) => `${task}.trip_id = ${trip}.id AND ${task}.customer_id = ${trip}.customer_id`,
  parentKey: 'id',
  loader: 'taskOfTrip',
};

@Resolver(() => Task)
export class TaskResolver {
  constructor(private readonly taskService: TaskService) {}

  @Authorized()
  @Query(() => TaskConnection, { description: "The caller's export tasks, newest first." })
  async tasks(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('state', () => TaskState, { nullable: true }) state?: TaskState,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('deviceId', () => ID, { nullable: true, description: "Only this device's tasks; NOT_FOUND for a device that is not the caller's." }) deviceId?: string,
    @Arg('from', () => String, { nullable: true, description: 'Only tasks created at or after this ISO time.' }) from?: string,
    @Arg('to', () => String, { nullable: true, description: 'Only tasks created at or before this ISO time.' }) to?: string,
  ): Promise<ConnectionShape<Task>> {
    const columns = selectedColumns(ctx.em, Task, info, ['edges', 'node']);
    const related = relatedRowsAt(ctx, info, ['edges', 'node']);
    const page = await this.taskService.connection(ctx.em, principalOf(ctx), { state, deviceId, from, to }, first, after, columns, related);
    return prefetchConnection(ctx, info, page, related);
  }

  @Authorized()
  @Query(() => Task, { name: 'task', description: 'One task; NOT_FOUND for an unknown id or one of another customer.' })
  taskById(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<Task> {
    return this.taskService.get(ctx.em, principalOf(ctx), id);
  }

  @Authorized()
  @Mutation(() => Task, { description: 'Exports a completed trip now; its task is returned (created when needed).' })
  async exportTrip(@Ctx() ctx: GraphQLContext, @Arg('tripId', () => ID) tripId: string): Promise<Task> {
    return (await this.taskService.exportTrip(ctx.em, principalOf(ctx), tripId)).task;
  }

  @Authorized()
  @Mutation(() => Task, { description: 'Deletes the result file; it is no longer announced.' })
  clearTaskResult(@Ctx() ctx: GraphQLContext, @Arg('taskId', () => ID) taskId: string): Promise<Task> {
    return this.taskService.clearResult(ctx.em, principalOf(ctx), taskId);
  }

  @Extensions(reads())
  @FieldResolver(() => String, { name: 'task', description: 'Always "core.tasks.es_trip_export".' })
  taskName(): string {
    return TRIP_EXPORT_TASK;
  }

  @Extensions(reads())
  @FieldResolver(() => [String])
  args(): string[] {
    return [];
  }

  @Extensions(reads())
  @FieldResolver(() => TaskKwargs)
  kwargs(@Root() task: Task): TaskKwargs {
    return { tripId: task.trip.id };
  }

  @Extensions({ ...PREFETCH, ...reads(), ...related(TRIP_OF_TASK) })
  @FieldResolver(() => Trip)
  trip(@Root() task: Task, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): MaybePromise<Trip> {
    return loadOwned(ctx, Trip, task.customer.id, task.trip.id, selectedColumns(ctx.em, Trip, info));
  }

  // Whether there is a result at all takes the file, its size and its hash.
  @Extensions(
    readsBelow(['resultPath', 'resultBytes', 'resultSha256'], {
      bytes: [],
      sha256: [],
      records: ['resultRecords'],
      firstTs: ['resultFirstTs'],
      lastTs: ['resultLastTs'],
      downloadPath: [],
    }),
  )
  @FieldResolver(() => TaskResult, { nullable: true, description: 'Null until an export succeeded, and after the result was cleared.' })
  result(@Root() task: Task): TaskResult | null {
    return taskResultOf(task);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'A signed link to the result file that needs no other credentials (a browser can follow it) until it expires; null when there is no result.',
  })
  downloadUrl(@Root() task: Task): string | null {
    return this.taskService.downloadUrlOf(task);
  }
}

@Resolver(() => TaskUpdatedEvent)
export class TaskUpdatedResolver {
  constructor(private readonly taskService: TaskService) {}

  @Authorized()
  @Subscription(() => TaskUpdatedEvent, {
    description: "Every state change of the caller's export tasks (optionally of one device), as it commits.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { deviceId?: string | null }, GraphQLContext>) =>
      context.resolvers.get(TaskUpdatedResolver).taskService.updates(context.em, principalOf(context), args.deviceId),
  })
  taskUpdated(@Root() message: TaskUpdatedMessage, @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string): TaskUpdatedEvent {
    return { ...message, taskId: String(message.taskId) };
  }
}

@Resolver(() => Trip)
export class TripTaskResolver {
  constructor(private readonly taskService: TaskService) {}

  @Extensions({ ...PREFETCH, ...reads(), ...related(TASK_OF_TRIP) })
  @FieldResolver(() => Task, { nullable: true, description: 'The export task of the trip, if it was ever exported.' })
  task(@Root() trip: Trip, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): MaybePromise<Task | null> {
    const principal = principalOf(ctx);
    const columns = selectedColumns(ctx.em, Task, info);
    return ctx.cache.load(loaderOf(TASK_OF_TRIP.loader, principal.customerId, columns), trip.id, (tripIds: readonly string[]) =>
      this.taskService.ofTrips(ctx.em, principal, tripIds, columns),
    );
  }
}
