import { useMutation, useQuery } from '@urql/preact';
import { useEffect, useState } from 'preact/hooks';

import { ClearTaskResultDocument, ExportTripDocument, type TaskFieldsFragment, TripDetailDocument } from '../generated/graphql.js';
import { useLiveRefetch } from '../live.js';
import { has, TASK_DOWNLOAD_URL, type TaskDownloadUrlResult, TRIP_TRACK, type TripTrackResult } from '../pending.js';
import { storedAuthorization } from '../session.js';
import { decimate, positionsOfExport, TrackView } from '../track.js';
import { bytes, ErrorNote, Section, StateBadge, when } from '../ui.js';

const MAX_POINTS = 2000;

export function TripScreen({ id }: { id: string }) {
  const [result, refetch] = useQuery({ query: TripDetailDocument, variables: { id }, requestPolicy: 'network-only' });
  useLiveRefetch(() => refetch({ requestPolicy: 'network-only' }));
  const trip = result.data?.trip;
  return (
    <>
      <ErrorNote error={result.error} />
      {trip && (
        <Section title={`Trip ${trip.id.slice(0, 8)}`}>
          <dl class="facts">
            <dt>Trip id</dt>
            <dd class="mono" data-testid="trip-id">
              {trip.id}
            </dd>
            <dt>Device</dt>
            <dd>
              <a href={`#/devices/${trip.device.id}`}>{trip.device.name}</a>
            </dd>
            <dt>State</dt>
            <dd>{trip.state}</dd>
            <dt>Start</dt>
            <dd>{when(trip.startTimeUtc)}</dd>
            <dt>End</dt>
            <dd>{when(trip.endTimeUtc)}</dd>
            <dt>Duration</dt>
            <dd>{trip.duration}</dd>
            <dt>Distance</dt>
            <dd>{trip.distanceKm.toFixed(2)} km</dd>
            <dt>Records</dt>
            <dd>{trip.task?.result?.records ?? '—'}</dd>
          </dl>
          <Track tripId={trip.id} task={trip.task ?? undefined} />
        </Section>
      )}
      {trip && <TaskPanel tripId={trip.id} task={trip.task ?? undefined} onChange={() => refetch({ requestPolicy: 'network-only' })} />}
    </>
  );
}

/** The export file, fetched with the session's own credentials (REST takes no cookie). */
async function fetchResult(path: string): Promise<Blob> {
  const response = await fetch(path, { headers: { authorization: storedAuthorization() ?? '' } });
  if (!response.ok) throw new Error(`Download failed (${response.status})`);
  return response.blob();
}

/** Trip.track when the API has it, else the positions of the trip's export file. */
function Track({ tripId, task }: { tripId: string; task: TaskFieldsFragment | undefined }) {
  const [fromApi] = useQuery<TripTrackResult>({ query: TRIP_TRACK, variables: { id: tripId, maxPoints: MAX_POINTS }, pause: !has.track });
  const [fromFile, setFromFile] = useState<{ lat: number; lon: number }[]>();
  const path = task?.result?.downloadPath;
  useEffect(() => {
    if (has.track || !path) return;
    let gone = false;
    void fetchResult(path)
      .then(positionsOfExport)
      .then((points) => !gone && setFromFile(decimate(points, MAX_POINTS)));
    return () => void (gone = true);
  }, [path]);
  const points = has.track ? fromApi.data?.trip.track : fromFile;
  return (
    <figure>
      {points ? <TrackView points={points} /> : <p>{has.track || path ? 'Loading track…' : 'The track is drawn from the export; export the trip to see it.'}</p>}
      <figcaption>Track{points ? ` (${points.length} points)` : ''}</figcaption>
    </figure>
  );
}

function TaskPanel({ tripId, task, onChange }: { tripId: string; task: TaskFieldsFragment | undefined; onChange: () => void }) {
  const [exporting, exportTrip] = useMutation(ExportTripDocument);
  const [clearing, clear] = useMutation(ClearTaskResultDocument);
  return (
    <Section title="Export">
      {task ? (
        <dl class="facts">
          <dt>Task</dt>
          <dd class="mono">{task.id}</dd>
          <dt>State</dt>
          <dd>
            <StateBadge state={task.state} />
          </dd>
          <dt>Revision</dt>
          <dd>{task.runs}</dd>
          <dt>Finished</dt>
          <dd>{when(task.finishedAt)}</dd>
          <dt>Bytes</dt>
          <dd>{bytes(task.result?.bytes)}</dd>
          <dt>SHA-256</dt>
          <dd class="mono wrap">{task.result?.sha256 ?? '—'}</dd>
          {task.error && (
            <>
              <dt>Error</dt>
              <dd>{task.error}</dd>
            </>
          )}
          {task.resultClearedAt && (
            <>
              <dt>Cleared</dt>
              <dd>{when(task.resultClearedAt)}</dd>
            </>
          )}
        </dl>
      ) : (
        <p>Not exported yet.</p>
      )}
      <div class="actions">
        {task?.result && <Download taskId={task.id} tripId={tripId} path={task.result.downloadPath} />}
        <button type="button" disabled={exporting.fetching} onClick={async () => !(await exportTrip({ tripId })).error && onChange()}>
          {task ? 'Re-export' : 'Export'}
        </button>
        {task?.result && (
          <button type="button" disabled={clearing.fetching} onClick={async () => confirm('Delete the export file?') && !(await clear({ taskId: task.id })).error && onChange()}>
            Clear result
          </button>
        )}
      </div>
      <ErrorNote error={exporting.error ?? clearing.error} />
    </Section>
  );
}

/**
 * A signed link (Task.downloadUrl) the browser follows by itself when the API has it; else the
 * file is fetched with the session's credentials and saved from memory.
 */
function Download({ taskId, tripId, path }: { taskId: string; tripId: string; path: string }) {
  const [signed] = useQuery<TaskDownloadUrlResult>({ query: TASK_DOWNLOAD_URL, variables: { id: taskId }, pause: !has.downloadUrl, requestPolicy: 'network-only' });
  const [error, setError] = useState<string>();
  const name = `${tripId}.json.gz`;
  if (has.downloadUrl) {
    const url = signed.data?.task.downloadUrl;
    return url ? (
      <a class="button" href={url} download={name}>
        Download {name}
      </a>
    ) : null;
  }
  const save = async () => {
    try {
      const href = URL.createObjectURL(await fetchResult(path));
      const link = Object.assign(document.createElement('a'), { href, download: name });
      link.click();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <>
      <a
        class="button"
        href={path}
        download={name}
        onClick={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        Download {name}
      </a>
      <ErrorNote error={error} />
    </>
  );
}
