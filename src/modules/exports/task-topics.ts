import { nowIso } from '../../lib/time.js';
import type { TopicPubSub } from '../../notify/pub-sub.js';
import type { TaskState } from './task.entity.js';

/** A task changed state, published after the change committed: plain JSON. */
export interface TaskUpdatedMessage {
  readonly taskId: number;
  readonly customerId: string;
  readonly deviceId: string;
  readonly tripId: string;
  readonly state: TaskState;
  /** Of the task's last successful export, 0 before the first; a SUCCESS carries its new one. */
  readonly revision: number;
  readonly occurredAt: string;
}

/** Routed by customer id, so a subscriber only ever hears its own customer's tasks. */
export type TaskTopics = { TASK_UPDATED: [customerId: string, message: TaskUpdatedMessage] };

export const TASK_UPDATED = 'TASK_UPDATED';

export type TaskPubSub = TopicPubSub<TaskTopics>;

export interface TaskOf {
  readonly id: number;
  readonly customerId: string;
  readonly deviceId: string;
  readonly tripId: string;
}

/**
 * Tells dashboards about a task's new state. Call it only once the change has committed: a
 * rolled-back change must not have been announced. Without a pub/sub (the benchmark) it does nothing.
 */
export function publishTaskState(pubSub: TaskPubSub | undefined, task: TaskOf, state: string, revision: number): void {
  pubSub?.publish(TASK_UPDATED, task.customerId, {
    taskId: task.id,
    customerId: task.customerId,
    deviceId: task.deviceId,
    tripId: task.tripId,
    state: state as TaskState,
    revision,
    occurredAt: nowIso(),
  });
}
