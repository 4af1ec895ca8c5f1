import { useQuery } from '@urql/preact';

import { FleetDocument } from '../generated/graphql.js';
import { useLiveRefetch } from '../live.js';
import { ErrorNote, Section, shortId, StateBadge, when } from '../ui.js';

/** Every device with its latest trip and that trip's export in one request, refetched on live events. */
export function FleetScreen() {
  const [fleet, refetch] = useQuery({ query: FleetDocument, requestPolicy: 'network-only' });
  useLiveRefetch(() => refetch({ requestPolicy: 'network-only' }), { fetching: fleet.fetching });
  return (
    <Section title="Fleet">
      <ErrorNote error={fleet.error} />
      {fleet.data && fleet.data.devices.length === 0 && <p>No devices yet.</p>}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Unit id</th>
              <th scope="col">Last seen</th>
              <th scope="col">Auto export</th>
              <th scope="col">Latest trip</th>
              <th scope="col">Export</th>
            </tr>
          </thead>
          <tbody>
            {fleet.data?.devices.map((device) => {
              const trip = device.latestTrip;
              return (
                <tr key={device.id}>
                  <td>
                    <a href={`#/devices/${device.id}`}>{device.name}</a>
                  </td>
                  <td class="mono">{device.unitId}</td>
                  <td>{when(device.lastSeenAt)}</td>
                  <td>{device.settings.autoExport ? 'on' : 'off'}</td>
                  <td>
                    {trip ? (
                      <a href={`#/trips/${trip.id}`} class="mono">
                        {shortId(trip.id)}
                      </a>
                    ) : (
                      '—'
                    )}{' '}
                    {trip && when(trip.startTimeUtc)}
                  </td>
                  <td>{trip && <StateBadge state={trip.task?.state} />}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Section>
  );
}
