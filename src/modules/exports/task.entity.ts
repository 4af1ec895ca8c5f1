import { BigIntType, Entity, Enum, Index, ManyToOne, type Opt, PrimaryKey, Property, type Ref, Unique } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

import { IsoTimestampType } from '../../db/iso-timestamp.type.js';
import { nowIso } from '../../lib/time.js';
import { Customer } from '../accounts/customer.entity.js';
import { Device } from '../devices/device.entity.js';
import { Trip } from '../trips/trip.entity.js';

/** Celery's state names, as the legacy API shows them. */
export enum TaskState {
  PENDING = 'PENDING',
  STARTED = 'STARTED',
  SUCCESS = 'SUCCESS',
  FAILURE = 'FAILURE',
}
registerEnumType(TaskState, { name: 'TaskState' });

/** The only task name the legacy API knows. */
export const TRIP_EXPORT_TASK = 'core.tasks.es_trip_export';

/**
 * The export of one trip. One row per trip (unique), reused by every later export of it.
 * State changes of a running export go through conditional SQL (`task-lease.store.ts`), so
 * PostgreSQL, not the job runner, decides who may export a trip.
 */
@ObjectType({ description: 'The export of one trip (one task per trip).' })
@Entity({ tableName: 'tasks' })
@Unique({ properties: ['trip'] })
@Index({ properties: ['customer', 'id'] })
@Index({
  name: 'tasks_due_index',
  expression: `create index "tasks_due_index" on "tasks" ("due_at") where "state" in ('PENDING', 'STARTED')`,
})
export class Task {
  // Legacy scripts see integer task ids.
  @Field(() => ID)
  @PrimaryKey({ type: new BigIntType('number'), autoincrement: true })
  id!: number;

  @Field(() => String)
  @Property({ type: IsoTimestampType, defaultRaw: 'now()' })
  createdAt: Opt<string> = nowIso();

  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  @ManyToOne(() => Trip, { ref: true, deleteRule: 'cascade' })
  trip!: Ref<Trip>;

  @ManyToOne(() => Device, { ref: true, deleteRule: 'cascade' })
  device!: Ref<Device>;

  @Field(() => TaskState)
  @Enum({ items: () => TaskState, nativeEnumName: 'task_state' })
  state: Opt<TaskState> = TaskState.PENDING;

  /** Export runs started since the last request (a trip end or a manual export). */
  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  attempts: Opt<number> = 0;

  /** Export runs ever started for this task (retries and follow-ups included). */
  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  runs: Opt<number> = 0;

  /** Not before this time may the export run (reopen window, retry backoff). */
  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  dueAt?: string | null;

  /**
   * Export requests so far: every trip end and every manual export adds one. A run covers
   * the count it saw when it started; a higher count at its finish means one more run.
   */
  @Property({ type: 'integer', default: 0 })
  requestCount: Opt<number> = 0;

  @Property({ type: 'integer', default: 0 })
  coveredRequestCount: Opt<number> = 0;

  /** Lease of the running export: another worker may take the task over once it is past. */
  @Property({ type: IsoTimestampType, nullable: true })
  lockedUntil?: string | null;

  /** The worker running the export, or the one that ran the last run. */
  @Property({ type: 'text', nullable: true })
  lockedBy?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  startedAt?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  finishedAt?: string | null;

  @Field(() => String, { nullable: true, description: 'Why the last run failed.' })
  @Property({ type: 'text', nullable: true })
  error?: string | null;

  /** The current result file, relative to EXPORT_DIR; null when there is none or it was cleared. */
  @Property({ type: 'text', nullable: true })
  resultPath?: string | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  resultBytes?: number | null;

  @Property({ type: 'text', nullable: true })
  resultSha256?: string | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  resultRecords?: number | null;

  @Property({ type: IsoTimestampType, nullable: true })
  resultFirstTs?: string | null;

  @Property({ type: IsoTimestampType, nullable: true })
  resultLastTs?: string | null;

  /** When the current result was written. */
  @Property({ type: IsoTimestampType, nullable: true })
  resultAt?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: IsoTimestampType, nullable: true })
  resultClearedAt?: string | null;

  /**
   * 1 after the first export that succeeded, then one more for each later one (late data,
   * a reopened trip, a manual export): receivers tell the newer file from the one they have.
   * A run followed at once by another (a request came in meanwhile) does not count; it is
   * neither announced nor kept.
   */
  @Field(() => Int, { description: '1 after the first successful export, 2, 3 ... after each later one; 0 before.' })
  @Property({ type: 'integer', default: 0 })
  revision: Opt<number> = 0;

  /** Last time a trip_export_finished signal was written for the current result. */
  @Property({ type: IsoTimestampType, nullable: true })
  announcedAt?: string | null;
}
