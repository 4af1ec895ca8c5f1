/** JSON Schemas of the `/tasks/` routes (request validation and the OpenAPI document). */
import { TaskState } from '../modules/exports/task.entity.js';
import { authErrors, bearerSecurity, errorSchema } from './schemas.js';

const nullableString = { type: ['string', 'null'] } as const;

const taskSchema = {
  type: 'object',
  description: 'The legacy task object (id, created_at, task, args, kwargs, state) and what is known about its runs and result.',
  additionalProperties: true,
  properties: {
    id: { type: 'integer' },
    created_at: { type: 'string', description: 'ISO-8601 UTC with microseconds' },
    task: { type: 'string', enum: ['core.tasks.es_trip_export'] },
    args: { type: 'array', items: {} },
    kwargs: { type: 'object', properties: { trip_id: { type: 'string', format: 'uuid' } }, required: ['trip_id'] },
    state: { type: 'string', enum: Object.values(TaskState) },
    revision: {
      type: 'integer',
      description:
        'Revision of the result: 0 before the first successful export, 1 after it, 2, 3 ... after each later one (data that arrived late, a reopened trip, a manual export); announcements carry the same number',
    },
    attempts: { type: 'integer' },
    runs: { type: 'integer' },
    started_at: nullableString,
    finished_at: nullableString,
    error: nullableString,
    result: {
      type: ['object', 'null'],
      description: 'The current export file; null before the first success and after clearing',
      properties: {
        bytes: { type: 'integer' },
        sha256: { type: 'string' },
        records: { type: 'integer' },
        first_ts: nullableString,
        last_ts: nullableString,
        download_url: { type: 'string' },
      },
    },
    result_cleared_at: nullableString,
  },
  required: ['id', 'created_at', 'task', 'args', 'kwargs', 'state'],
} as const;

const idParams = { type: 'object', properties: { id: { type: 'string', description: 'Task id' } }, required: ['id'] } as const;

const common = { tags: ['tasks'], security: bearerSecurity } as const;

export const listTasksSchema = {
  ...common,
  summary: "All the customer's tasks, newest first (streamed, however many); limit and offset ask for one page instead",
  querystring: {
    type: 'object',
    properties: {
      state: { type: 'string', description: Object.values(TaskState).join(', ') },
      limit: { type: 'string', description: 'Page size (at most 1000; 100 when only offset is given). Without limit and offset: every task' },
      offset: { type: 'string', description: 'Tasks to skip, newest first (a page of limit, default 100)' },
    },
  },
  response: { 200: { type: 'array', items: taskSchema }, 400: errorSchema, ...authErrors },
} as const;

export const createTaskSchema = {
  ...common,
  summary: 'Export a completed trip now: {"task": "core.tasks.es_trip_export", "args": [], "kwargs": {"trip_id": ...}}',
  body: {
    type: 'object',
    properties: {
      task: { type: 'string' },
      args: { type: 'array', items: {} },
      kwargs: { type: 'object', properties: { trip_id: { type: 'string' } } },
    },
  },
  response: { 200: taskSchema, 201: taskSchema, 400: errorSchema, ...authErrors },
} as const;

export const getTaskSchema = { ...common, summary: 'One task', params: idParams, response: { 200: taskSchema, ...authErrors } } as const;

export const downloadSchema = {
  ...common,
  summary: 'Download the result, TRIP_ID.json.gz (ETag, If-None-Match, byte ranges)',
  description: "With an announcement's signed download_url (expires and signature) no other credentials are needed.",
  params: idParams,
  querystring: {
    type: 'object',
    properties: {
      expires: { type: 'string', description: 'Unix time the signed link expires (from download_url)' },
      signature: { type: 'string', description: 'Signature of the link (from download_url)' },
    },
  },
  response: {
    200: { description: 'gzip of JSON Lines: the trip object, then its records', content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } } } },
    ...authErrors,
  },
} as const;

export const clearSchema = {
  ...common,
  summary: 'Delete the result file; it is no longer announced',
  params: idParams,
  response: { 200: taskSchema, ...authErrors },
} as const;
