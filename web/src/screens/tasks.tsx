import { useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';

import { FleetDocument, TaskListDocument, type TaskState } from '../generated/graphql.js';
import { useLiveRefetch } from '../live.js';
import { bytes, ErrorNote, Pager, Section, shortId, StateBadge, usePages, when } from '../ui.js';

const STATES: TaskState[] = ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE'];
const PAGE = 100;

/** Export tasks, newest first, a page at a time, filtered by state and device on the server (so totalCount counts the filter). */
export function TasksScreen() {
  const [state, setState] = useState<TaskState | ''>('');
  const [deviceId, setDeviceId] = useState('');
  const [devices] = useQuery({ query: FleetDocument });
  const pages = usePages();
  const variables = { state: state || undefined, deviceId: deviceId || undefined, first: PAGE, after: pages.after };
  const [result, refetch] = useQuery({ query: TaskListDocument, variables, requestPolicy: 'network-only' });
  // Trips starting do not change the task list; their exports' tasks do.
  useLiveRefetch(() => refetch({ requestPolicy: 'network-only' }), {
    fetching: result.fetching,
    concerns: (event) => event.kind !== 'trip' && (!deviceId || event.deviceId === deviceId),
  });
  const tasks = result.data?.tasks.edges.map((e) => e.node) ?? [];
  const offset = pages.index * PAGE;
  const filter = (set: () => void) => {
    pages.reset();
    set();
  };
  return (
    <Section title="Tasks">
      <form class="inline" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select value={state} onChange={(e) => filter(() => setState(e.currentTarget.value as TaskState | ''))}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Device
          <select value={deviceId} onChange={(e) => filter(() => setDeviceId(e.currentTarget.value))}>
            <option value="">any</option>
            {devices.data?.devices.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({shortId(d.unitId)})
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={result.error} />
      <p>{result.data ? (tasks.length ? `${offset + 1}–${offset + tasks.length} of ${result.data.tasks.totalCount}` : `none of ${result.data.tasks.totalCount}`) : 'Loading…'}</p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">State</th>
              <th scope="col">Device</th>
              <th scope="col">Trip</th>
              <th scope="col">Created</th>
              <th scope="col">Finished</th>
              <th scope="col">Bytes</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((task) => (
              <tr key={task.id}>
                <td class="mono">{task.id}</td>
                <td>
                  <StateBadge state={task.state} />
                </td>
                <td>
                  <a href={`#/devices/${task.trip.device.id}`}>{task.trip.device.name}</a>
                </td>
                <td>
                  <a class="mono" href={`#/trips/${task.trip.id}`}>
                    {shortId(task.trip.id)}
                  </a>
                </td>
                <td>{when(task.createdAt)}</td>
                <td>{when(task.finishedAt)}</td>
                <td>{bytes(task.result?.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager pages={pages} pageInfo={result.data?.tasks.pageInfo} />
    </Section>
  );
}
