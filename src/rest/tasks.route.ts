import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { invalidInput } from '../lib/errors.js';
import type { AuthService } from '../modules/accounts/auth.service.js';
import { type Task, TaskState, TRIP_EXPORT_TASK } from '../modules/exports/task.entity.js';
import type { TaskService } from '../modules/exports/task.service.js';
import { taskResultOf } from '../modules/exports/task.types.js';
import { sendDownload } from './file-download.js';
import { requireUser } from './http.js';
import { jsonArrayStream } from './json-stream.js';
import { clearSchema, createTaskSchema, downloadSchema, getTaskSchema, listTasksSchema } from './task.schemas.js';

/** The legacy task object, plus what a script may want to know about the run and its result. */
function taskJson(task: Task, publicUrl: string) {
  const result = taskResultOf(task);
  return {
    id: task.id,
    created_at: task.createdAt,
    task: TRIP_EXPORT_TASK,
    args: [] as unknown[],
    kwargs: { trip_id: task.trip.id },
    state: task.state,
    revision: task.revision,
    attempts: task.attempts,
    started_at: task.startedAt ?? null,
    finished_at: task.finishedAt ?? null,
    error: task.error ?? null,
    result: result && {
      bytes: result.bytes,
      sha256: result.sha256,
      records: result.records,
      first_ts: result.firstTs,
      last_ts: result.lastTs,
      download_url: `${publicUrl}${result.downloadPath}`,
    },
    result_cleared_at: task.resultClearedAt ?? null,
  };
}

function intParam(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) throw invalidInput(`${name} must be an integer between 0 and ${max}`);
  return value;
}

const STATES: readonly string[] = Object.values(TaskState);
const GZIP = 'application/gzip';

type WithId = FastifyRequest<{ Params: { id: string } }>;
type WithDownload = FastifyRequest<{ Params: { id: string }; Querystring: { expires?: string; signature?: string } }>;

/** `/tasks/`: the customer's export tasks, their results, and `POST` to export a trip now. */
export function taskRoutes(auth: AuthService, tasks: TaskService, publicUrl: string) {
  const json = (task: Task) => taskJson(task, publicUrl);

  const download = async (request: WithDownload, reply: FastifyReply) => {
    const { expires, signature } = request.query;
    // An announcement's download_url carries its own credential; anything else is a user's call.
    const opened =
      signature !== undefined && !request.headers.authorization
        ? await tasks.openSignedResult(request.em, request.params.id, expires, signature)
        : await tasks.openResult(request.em, await requireUser(auth, request), request.params.id);
    const { size } = await opened.file.stat();
    return sendDownload(request, reply, { file: opened.file, size, etag: opened.task.resultSha256 ?? '', filename: opened.filename, contentType: GZIP });
  };

  const clear = async (request: WithId) => {
    const principal = await requireUser(auth, request);
    return json(await tasks.clearResult(request.em, principal, request.params.id));
  };

  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { state?: string; limit?: string; offset?: string } }>('/tasks/', { schema: listTasksSchema }, async (request, reply) => {
      const principal = await requireUser(auth, request);
      const { state, limit, offset } = request.query;
      if (state !== undefined && !STATES.includes(state)) throw invalidInput(`state must be one of ${STATES.join(', ')}`);
      const filter = state ? { state: state as TaskState } : {};
      // The original promises "all tasks for the current customer", and scripts loop over it.
      if (limit === undefined && offset === undefined) {
        return reply.type('application/json; charset=utf-8').send(await jsonArrayStream(tasks.listAll(request.em, principal, filter), json));
      }
      const list = await tasks.list(request.em, principal, filter, intParam('limit', limit, 100, 1000), intParam('offset', offset, 0, Number.MAX_SAFE_INTEGER));
      return list.map(json);
    });

    app.post<{ Body: { task?: unknown; args?: unknown; kwargs?: { trip_id?: unknown } } }>('/tasks/', { schema: createTaskSchema }, async (request, reply) => {
      const principal = await requireUser(auth, request);
      const { task, args, kwargs } = request.body ?? {};
      if (task !== TRIP_EXPORT_TASK) throw invalidInput(`Unknown task ${JSON.stringify(task ?? null)}; the only task is "${TRIP_EXPORT_TASK}"`);
      if (args !== undefined && !(Array.isArray(args) && args.length === 0)) throw invalidInput('args must be an empty list');
      if (typeof kwargs?.trip_id !== 'string') throw invalidInput('kwargs.trip_id is required');
      const { task: exported, created } = await tasks.exportTrip(request.em, principal, kwargs.trip_id);
      return reply.status(created ? 201 : 200).send(json(exported));
    });

    app.get<{ Params: { id: string } }>('/tasks/:id/', { schema: getTaskSchema }, async (request) => {
      const principal = await requireUser(auth, request);
      return json(await tasks.get(request.em, principal, request.params.id));
    });

    app.get('/tasks/:id/result/', { schema: downloadSchema }, download);
    app.get('/tasks/:id/result_trip_export/', { schema: downloadSchema }, download);
    for (const url of ['/tasks/:id/clear_result/', '/tasks/:id/remove_result/']) {
      app.get(url, { schema: clearSchema }, clear);
      app.post(url, { schema: clearSchema }, clear);
    }
  };
}
