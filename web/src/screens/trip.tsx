import { useMutation, useQuery } from '@urql/preact';

import { ClearTaskResultDocument, ExportTripDocument, type TaskFieldsFragment, TripDetailDocument, TripTrackDocument } from '../generated/graphql.js';
import { useLiveRefetch } from '../live.js';
import { TrackView } from '../track.js';
import { bytes, ErrorNote, Section, StateBadge, when } from '../ui.js';

const MAX_POINTS = 2000;

export function TripScreen({ id }: { id: string }) {
  const [result, refetch] = useQuery({ query: TripDetailDocument, variables: { id }, requestPolicy: 'network-only' });
  useLiveRefetch(() => refetch({ requestPolicy: 'network-only' }), { fetching: result.fetching, concerns: (event) => event.tripId === id });
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
          <Track tripId={trip.id} />
        </Section>
      )}
      {trip && <TaskPanel tripId={trip.id} task={trip.task ?? undefined} onChange={() => refetch({ requestPolicy: 'network-only' })} />}
    </>
  );
}

/** Trip.track, thinned on the server to at most MAX_POINTS (issue 14: ~2,000). */
function Track({ tripId }: { tripId: string }) {
  const [result] = useQuery({ query: TripTrackDocument, variables: { id: tripId, maxPoints: MAX_POINTS } });
  const track = result.data?.trip.track;
  return (
    <figure>
      <ErrorNote error={result.error} />
      {track ? <TrackView points={track.points} /> : !result.error && <p>Loading track…</p>}
      <figcaption>Track{track ? ` (${track.points.length} of ${track.positionCount} positions)` : ''}</figcaption>
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
        {/* Signed and short-lived: the browser follows it itself, with no credentials of the session. */}
        {task?.downloadUrl && (
          <a class="button" href={task.downloadUrl} download={`${tripId}.json.gz`}>
            Download {tripId}.json.gz
          </a>
        )}
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
