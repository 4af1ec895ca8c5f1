import { useQuery } from '@urql/preact';

import { FleetDocument } from '../generated/graphql.js';
import { useLiveRefetch } from '../live.js';
import { FLEET_LATEST, type FleetLatestResult, has } from '../pending.js';
import { ErrorNote, Section, shortId, StateBadge, when } from '../ui.js';

/**
 * Every device with its latest trip and that trip's export. Until the API has
 * Device.latestTrip, the latest trip comes from the newest 50 trips of the customer.
 */
export function FleetScreen() {
  const [fleet, refetch] = useQuery({ query: FleetDocument, requestPolicy: 'network-only' });
  const [latest, refetchLatest] = useQuery<FleetLatestResult>({ query: FLEET_LATEST, pause: !has.latestTrip, requestPolicy: 'network-only' });
  useLiveRefetch(() => {
    refetch({ requestPolicy: 'network-only' });
    if (has.latestTrip) refetchLatest({ requestPolicy: 'network-only' });
  });
  const trips = fleet.data?.trips.edges.map((e) => e.node) ?? [];
  const latestOf = new Map(latest.data?.devices.map((d) => [d.id, d]));
  return (
    <Section title="Fleet">
      <ErrorNote error={fleet.error ?? latest.error} />
      {fleet.data && fleet.data.devices.length === 0 && <p>No devices yet.</p>}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Unit id</th>
              {has.latestTrip && <th scope="col">Last seen</th>}
              <th scope="col">Auto export</th>
              <th scope="col">Latest trip</th>
              <th scope="col">Export</th>
            </tr>
          </thead>
          <tbody>
            {fleet.data?.devices.map((device) => {
              const fromApi = latestOf.get(device.id);
              const trip = fromApi ? fromApi.latestTrip : trips.find((t) => t.device.id === device.id);
              return (
                <tr key={device.id}>
                  <td>
                    <a href={`#/devices/${device.id}`}>{device.name}</a>
                  </td>
                  <td class="mono">{device.unitId}</td>
                  {has.latestTrip && <td>{when(fromApi?.lastSeenAt)}</td>}
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
