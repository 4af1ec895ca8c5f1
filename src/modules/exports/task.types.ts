import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

import { connectionType } from '../../lib/pagination.js';
import { Task, TaskState } from './task.entity.js';

@ObjectType({ description: 'The arguments of the legacy task call.' })
export class TaskKwargs {
  @Field(() => ID)
  tripId!: string;
}

@ObjectType({ description: 'The current export file of a task.' })
export class TaskResult {
  @Field(() => Float, { description: 'Size of the gzip file.' })
  bytes!: number;

  @Field(() => String, { description: 'SHA-256 of the gzip file (hex); also its ETag.' })
  sha256!: string;

  @Field(() => Float, { description: 'Records in the file, not counting the trip line.' })
  records!: number;

  @Field(() => String, { nullable: true })
  firstTs!: string | null;

  @Field(() => String, { nullable: true })
  lastTs!: string | null;

  @Field(() => String, { description: 'Download with the same credentials: GET this path.' })
  downloadPath!: string;
}

export const TaskConnection = connectionType(Task, 'Task');

/** The result of a task as GraphQL and REST show it; null when there is none. */
export function taskResultOf(task: Task): TaskResult | null {
  if (!task.resultPath || task.resultBytes === null || task.resultBytes === undefined || !task.resultSha256) return null;
  return {
    bytes: task.resultBytes,
    sha256: task.resultSha256,
    records: task.resultRecords ?? 0,
    firstTs: task.resultFirstTs ?? null,
    lastTs: task.resultLastTs ?? null,
    downloadPath: `/tasks/${task.id}/result/`,
  };
}

@ObjectType({ description: 'A task changed state (PENDING, STARTED, SUCCESS, FAILURE).' })
export class TaskUpdatedEvent {
  @Field(() => ID)
  taskId!: string;

  @Field(() => ID)
  tripId!: string;

  @Field(() => ID)
  deviceId!: string;

  @Field(() => TaskState)
  state!: TaskState;

  @Field(() => Int, { description: 'Of the last successful export, 0 before the first; a SUCCESS carries its new revision.' })
  revision!: number;

  @Field(() => String)
  occurredAt!: string;
}
