/**
 * The soak's verdict, from outside: trips and tasks through the API, the export files through
 * `tasks/ID/result/`, the announcements as the webhook receiver accepted them.
 */
import { gunzipSync } from 'node:zlib';

import type { AckedRecords } from './acked-records.js';
import { recordPrint } from './acked-records.js';
import type { SoakApi, SoakTrip } from './soak-api.js';
import type { WebhookSink } from './webhook-sink.js';

export interface Verification {
  readonly trips: number;
  readonly endedTrips: number;
  /** Tasks in SUCCESS. */
  readonly exports: number;
  /** Exports whose current file was announced by an accepted, correctly signed webhook. */
  readonly announced: number;
  /** Record lines across all export files. */
  readonly exportedRecords: number;
  /** Exported records the simulator never saw acknowledged: stored from a batch it gave up on. Not an error. */
  readonly unackedExported: number;
  readonly stuckTasks: number;
  readonly failedTasks: number;
  /** Every check that failed, with a few examples each; empty means the soak passed. */
  readonly problems: string[];
}

const EXAMPLES = 3;

/** `what` with the count and the first few examples, for a problem line. */
function problem(what: string, examples: readonly string[]): string {
  return `${examples.length} ${what}: ${examples.slice(0, EXAMPLES).join('; ')}${examples.length > EXAMPLES ? '; …' : ''}`;
}

const announcedNow = (trip: SoakTrip, sink: WebhookSink): boolean =>
  trip.task?.result != null && (sink.announced.get(trip.task.id) ?? []).some((a) => a.sha256 === trip.task!.result!.sha256);

/** Nothing left to wait for: every trip ended, exported, and its file announced. */
export function settled(trips: readonly SoakTrip[], sink: WebhookSink): boolean {
  return trips.every((t) => t.endTimeUtc !== null && t.task?.state === 'SUCCESS' && announcedNow(t, sink));
}

/** Checks tasks and announcements from the trip list (no downloads). */
function checkTasks(trips: readonly SoakTrip[], sink: WebhookSink, now: number) {
  const open = trips.filter((t) => t.endTimeUtc === null).map((t) => `trip ${t.id} never ended`);
  const ended = trips.filter((t) => t.endTimeUtc !== null);
  const noTask = ended.filter((t) => !t.task).map((t) => `trip ${t.id}`);
  const tasks = ended.flatMap((t) => (t.task ? [t.task] : []));
  const stuck = tasks
    .filter((t) => t.state === 'STARTED' || (t.state === 'PENDING' && t.dueAt !== null && Date.parse(t.dueAt) < now))
    .map((t) => `task ${t.id} ${t.state} (due ${t.dueAt}, ${t.attempts} attempts)`);
  const failed = tasks.filter((t) => t.state === 'FAILURE').map((t) => `task ${t.id} after ${t.attempts} attempts: ${t.error}`);
  const unannounced = ended.filter((t) => t.task?.state === 'SUCCESS' && !announcedNow(t, sink)).map((t) => `task ${t.task!.id}`);
  const problems = [
    ...(open.length ? [problem('trips still open', open)] : []),
    ...(noTask.length ? [problem('ended trips without an export task', noTask)] : []),
    ...(stuck.length ? [problem('tasks stuck', stuck)] : []),
    ...(failed.length ? [problem('exports failed for good', failed)] : []),
    ...(unannounced.length ? [problem('exports never announced by an accepted, signed webhook', unannounced)] : []),
    ...(sink.counts.badSignatures ? [`${sink.counts.badSignatures} webhooks with a bad signature or body`] : []),
  ];
  return { ended: ended.length, tasks, stuck: stuck.length, failed: failed.length, announced: tasks.length - unannounced.length, problems };
}

/** One export file against what its device got acknowledged; tallies into `seen`. */
function checkFile(
  file: Buffer,
  trip: SoakTrip,
  acked: ReadonlyMap<number, number>,
  seen: Map<number, number>,
  out: { altered: string[]; unacked: number; lines: number },
): string | undefined {
  const lines = gunzipSync(file).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if ((JSON.parse(lines[0] ?? '{}') as { id?: unknown }).id !== trip.id) return `the file of trip ${trip.id} does not start with the trip`;
  for (const line of lines.slice(1)) {
    const { at, print } = recordPrint(JSON.parse(line) as Record<string, unknown>);
    out.lines += 1;
    seen.set(at, (seen.get(at) ?? 0) + 1);
    const expected = acked.get(at);
    if (expected === undefined) out.unacked += 1;
    else if (expected !== print) out.altered.push(`trip ${trip.id} @ts ${new Date(at / 1000).toISOString()}`);
  }
  return undefined;
}

/** The full verdict: the checks of {@link checkTasks} plus every export file, device by device. */
export async function verify(api: SoakApi, acked: AckedRecords, sink: WebhookSink): Promise<Verification> {
  const trips = await api.trips();
  const tasks = checkTasks(trips, sink, Date.now());
  const problems = [...tasks.problems];
  const missing: string[] = [];
  const twice: string[] = [];
  const bad: string[] = [];
  const out = { altered: [] as string[], unacked: 0, lines: 0 };
  for (const deviceId of acked.devices) {
    const expected = acked.ofDevice(deviceId);
    const seen = new Map<number, number>();
    for (const trip of trips.filter((t) => t.device.id === deviceId && t.task?.state === 'SUCCESS' && t.task.result)) {
      const wrong = checkFile(await api.download(trip.task!.result!.downloadPath), trip, expected, seen, out);
      if (wrong) bad.push(wrong);
    }
    for (const at of expected.keys()) {
      const times = seen.get(at) ?? 0;
      if (times === 0) missing.push(`device ${deviceId} @ts ${new Date(at / 1000).toISOString()}`);
      else if (times > 1) twice.push(`device ${deviceId} @ts ${new Date(at / 1000).toISOString()} in ${times} places`);
    }
  }
  if (missing.length) problems.push(problem('acknowledged records in no export file', missing));
  if (twice.length) problems.push(problem('acknowledged records exported more than once', twice));
  if (out.altered.length) problems.push(problem('records exported differently from how they were uploaded', out.altered));
  if (bad.length) problems.push(problem('malformed export files', bad));
  if (acked.count === 0) problems.push('no record was acknowledged: nothing was tested');
  return {
    trips: trips.length,
    endedTrips: tasks.ended,
    exports: tasks.tasks.filter((t) => t.state === 'SUCCESS').length,
    announced: tasks.announced,
    exportedRecords: out.lines,
    unackedExported: out.unacked,
    stuckTasks: tasks.stuck,
    failedTasks: tasks.failed,
    problems,
  };
}
