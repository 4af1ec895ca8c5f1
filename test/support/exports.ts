/** Reading what an export produced, the way a user sees it. */
import { gunzipSync } from 'node:zlib';

import type pg from 'pg';

import { waitFor } from './wait.js';

export interface TaskRow {
  id: string;
  state: string;
  attempts: number;
  runs: number;
  revision: number;
  error: string | null;
  result_path: string | null;
  result_bytes: string | null;
  result_sha256: string | null;
  result_records: string | null;
  request_count: number;
  covered_request_count: number;
  locked_by: string | null;
}

export async function taskOfTrip(pool: pg.Pool, tripId: string): Promise<TaskRow | undefined> {
  const { rows } = await pool.query<TaskRow>('select * from tasks where trip_id = $1', [tripId]);
  return rows[0];
}

/** Waits until the trip's task is in `state` (and, when given, has run `runs` times). */
export function waitForTask(pool: pg.Pool, tripId: string, state: string, runs?: number, timeoutMs = 30_000): Promise<TaskRow> {
  return waitFor(
    async () => {
      const task = await taskOfTrip(pool, tripId);
      return task && task.state === state && (runs === undefined || task.runs === runs) ? task : undefined;
    },
    `task of trip ${tripId} to be ${state}${runs ? ` after ${runs} runs` : ''}`,
    timeoutMs,
  );
}

/** Downloads `tasks/ID/result/` and returns the gzip bytes and the file's lines. */
export async function downloadResult(baseUrl: string, taskId: string | number, token: string): Promise<{ response: Response; gzip: Buffer; lines: string[] }> {
  const response = await fetch(`${baseUrl}/tasks/${taskId}/result/`, { headers: { authorization: `APIToken ${token}` } });
  const gzip = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) return { response, gzip, lines: [] };
  const text = gunzipSync(gzip).toString('utf8');
  if (!text.endsWith('\n')) throw new Error('export file does not end with a newline');
  return { response, gzip, lines: text.slice(0, -1).split('\n') };
}

export async function signalsOf(pool: pg.Pool, taskId: string | number): Promise<{ reason: string; payload: Record<string, unknown> }[]> {
  const { rows } = await pool.query<{ reason: string; payload: Record<string, unknown> }>('select reason, payload from signals where task_id = $1 order by created_at', [taskId]);
  return rows;
}
