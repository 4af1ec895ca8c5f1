import { useMutation, useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';

import { DeviceDocument, type DeviceQuery, RenameDeviceDocument, RotateDeviceTokenDocument, type TripSettingsInput, UpdateDeviceSettingsDocument } from '../generated/graphql.js';
import { useLiveRefetch } from '../live.js';
import { ErrorNote, field, Pager, Section, shortId, ShownOnce, StateBadge, usePages, when } from '../ui.js';

type SettingKey = keyof TripSettingsInput;
const SETTINGS: { key: SettingKey; label: string; kind: 'bool' | 'int' | 'tags' }[] = [
  { key: 'autoExport', label: 'Auto export', kind: 'bool' },
  { key: 'reopenLimitSeconds', label: 'Reopen limit (s)', kind: 'int' },
  { key: 'activeTripMaxAgeSeconds', label: 'Active trip max age (s)', kind: 'int' },
  { key: 'startTags', label: 'Start tags', kind: 'tags' },
  { key: 'endTags', label: 'End tags', kind: 'tags' },
  { key: 'finalEndTags', label: 'Final end tags', kind: 'tags' },
];

const PAGE = 20;

export function DeviceScreen({ id }: { id: string }) {
  const [range, setRange] = useState<{ from?: string; to?: string }>({});
  const pages = usePages();
  const [result, refetch] = useQuery({
    query: DeviceDocument,
    variables: { id, first: PAGE, after: pages.after, from: range.from, to: range.to },
    requestPolicy: 'network-only',
  });
  useLiveRefetch(() => refetch({ requestPolicy: 'network-only' }), { fetching: result.fetching, concerns: (event) => event.deviceId === id });
  const device = result.data?.device;
  const trips = result.data?.trips;
  const onFilter = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const iso = (v: string) => (v ? new Date(`${v}Z`).toISOString() : undefined);
    pages.reset();
    setRange({ from: iso(field(form, 'from')), to: iso(field(form, 'to')) });
  };
  return (
    <>
      <ErrorNote error={result.error} />
      {device && (
        <Section title={`Device ${device.name}`}>
          <dl class="facts">
            <dt>Unit id</dt>
            <dd class="mono">{device.unitId}</dd>
            <dt>Vehicle id</dt>
            <dd>{device.vehicleId}</dd>
            <dt>Template</dt>
            <dd>{device.template?.name ?? 'none'}</dd>
            <dt>Last seen</dt>
            <dd>{when(device.lastSeenAt)}</dd>
          </dl>
          <Rename key={device.name} deviceId={device.id} name={device.name} onRenamed={() => refetch({ requestPolicy: 'network-only' })} />
          <RotateToken deviceId={device.id} />
        </Section>
      )}
      {device && <Settings device={device} onSaved={() => refetch({ requestPolicy: 'network-only' })} />}
      <Section title="Trips">
        <form class="inline" onSubmit={onFilter} aria-label="Filter trips by time">
          <label>
            From (UTC)
            <input type="datetime-local" name="from" />
          </label>
          <label>
            To (UTC)
            <input type="datetime-local" name="to" />
          </label>
          <button type="submit">Filter</button>
        </form>
        <p>{trips ? `${trips.totalCount} trip(s)` : 'Loading…'}</p>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Trip</th>
                <th scope="col">Start</th>
                <th scope="col">End</th>
                <th scope="col">km</th>
                <th scope="col">State</th>
                <th scope="col">Export</th>
              </tr>
            </thead>
            <tbody>
              {trips?.edges.map(({ node: trip }) => (
                <tr key={trip.id}>
                  <td>
                    <a class="mono" href={`#/trips/${trip.id}`}>
                      {shortId(trip.id)}
                    </a>
                  </td>
                  <td>{when(trip.startTimeUtc)}</td>
                  <td>{when(trip.endTimeUtc)}</td>
                  <td>{trip.distanceKm.toFixed(1)}</td>
                  <td>{trip.state}</td>
                  <td>
                    <StateBadge state={trip.task?.state} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager pages={pages} pageInfo={trips?.pageInfo} />
      </Section>
    </>
  );
}

function show(value: boolean | number | readonly string[] | null | undefined): string {
  if (value == null) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Effective settings with where each value comes from, and the device's own values to edit. */
function Settings({ device, onSaved }: { device: DeviceQuery['device']; onSaved: () => void }) {
  const [saving, save] = useMutation(UpdateDeviceSettingsDocument);
  const sourceOf = (key: SettingKey) => (device.ownSettings[key] != null ? 'device' : device.template?.settings[key] != null ? 'template' : 'default');
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const settings: Record<string, unknown> = {};
    for (const { key, kind } of SETTINGS) {
      const raw = field(form, key);
      if (raw === '') continue;
      settings[key] =
        kind === 'bool'
          ? raw === 'on'
          : kind === 'int'
            ? Number(raw)
            : raw
                .split(',')
                .map((t) => t.trim())
                .filter(Boolean);
    }
    const done = await save({ deviceId: device.id, settings: settings });
    if (!done.error) onSaved();
  };
  return (
    <Section title="Trip settings">
      <form onSubmit={onSubmit} aria-label="Trip settings">
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Setting</th>
                <th scope="col">Effective</th>
                <th scope="col">From</th>
                <th scope="col">Device's own</th>
              </tr>
            </thead>
            <tbody>
              {SETTINGS.map(({ key, label, kind }) => (
                <tr key={key}>
                  <th scope="row">{label}</th>
                  <td class="mono">{show(device.settings[key])}</td>
                  <td>{sourceOf(key)}</td>
                  <td>
                    {kind === 'bool' ? (
                      <select name={key} aria-label={`${label}, device's own`} value={device.ownSettings.autoExport == null ? '' : device.ownSettings.autoExport ? 'on' : 'off'}>
                        <option value="">(keep)</option>
                        <option value="on">on</option>
                        <option value="off">off</option>
                      </select>
                    ) : (
                      <input name={key} aria-label={`${label}, device's own`} inputMode={kind === 'int' ? 'numeric' : undefined} value={show(device.ownSettings[key])} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <button type="submit" disabled={saving.fetching}>
          Save settings
        </button>
        <ErrorNote error={saving.error} />
      </form>
    </Section>
  );
}

function Rename({ deviceId, name, onRenamed }: { deviceId: string; name: string; onRenamed: () => void }) {
  const [renamed, rename] = useMutation(RenameDeviceDocument);
  const [draft, setDraft] = useState(name);
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const done = await rename({ id: deviceId, name: draft });
    if (!done.error) onRenamed();
  };
  return (
    <form class="inline" aria-label="Rename device" onSubmit={onSubmit}>
      <label>
        Name
        <input name="name" required value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={renamed.fetching}>
        Rename
      </button>
      <ErrorNote error={renamed.error} />
    </form>
  );
}

/** The old token stops working at once, so the new one is shown this once to hand to the device. */
function RotateToken({ deviceId }: { deviceId: string }) {
  const [rotated, rotate] = useMutation(RotateDeviceTokenDocument);
  const [shown, setShown] = useState<string>();
  return (
    <div>
      <button
        type="button"
        onClick={async () => {
          if (!confirm('Rotate the upload token? The device must be given the new one.')) return;
          const done = await rotate({ id: deviceId });
          setShown(done.data?.rotateDeviceToken.uploadToken);
        }}
      >
        Rotate upload token
      </button>
      <ErrorNote error={rotated.error} />
      {shown && <ShownOnce label="New upload token" value={shown} onDone={() => setShown(undefined)} />}
    </div>
  );
}
