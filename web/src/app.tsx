import { Provider, useQuery, useSubscription } from '@urql/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';

import { connect } from './client.js';
import {
  ExportFinishedDocument,
  type ExportFinishedSubscription,
  MeDocument,
  TaskUpdatedDocument,
  type TaskUpdatedSubscription,
  TripUpdatedDocument,
  type TripUpdatedSubscription,
} from './generated/graphql.js';
import { LiveContext, type LiveEvent, type LiveState } from './live.js';
import { DeviceScreen } from './screens/device.js';
import { FleetScreen } from './screens/fleet.js';
import { SignIn } from './screens/sign-in.js';
import { TasksScreen } from './screens/tasks.js';
import { TokensScreen } from './screens/tokens.js';
import { TriggersScreen } from './screens/triggers.js';
import { TripScreen } from './screens/trip.js';
import { storeAuthorization, storedAuthorization } from './session.js';
import { shortId } from './ui.js';

/** The hash is the route (#/devices/ID): the service serves one page and needs no fallback. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function App() {
  const [authorization, setAuthorization] = useState(storedAuthorization);
  const signIn = (value: string) => {
    storeAuthorization(value);
    setAuthorization(value);
  };
  const signOut = () => {
    storeAuthorization(undefined);
    setAuthorization(undefined);
    location.hash = '';
  };
  if (!authorization) return <SignIn onSignedIn={signIn} />;
  return <SignedIn key={authorization} authorization={authorization} onSignOut={signOut} />;
}

function SignedIn({ authorization, onSignOut }: { authorization: string; onSignOut: () => void }) {
  const [live, setLive] = useState<LiveState>({ version: 0, status: 'connecting' });
  const connection = useMemo(
    () =>
      connect(authorization, {
        onConnected: (resumed) => setLive((s) => (resumed ? { status: 'live', version: s.version + 1 } : { ...s, status: 'live' })),
        onDropped: () => setLive((s) => ({ ...s, status: 'reconnecting' })),
        onForbidden: onSignOut,
      }),
    [authorization],
  );
  useEffect(() => () => void connection.ws.dispose(), [connection]);
  return (
    <Provider value={connection.client}>
      <LiveContext.Provider value={live}>
        <Shell onSignOut={onSignOut} onEvent={(event) => setLive((s) => ({ ...s, version: s.version + 1, event }))} />
      </LiveContext.Provider>
    </Provider>
  );
}

const NAV = [
  ['', 'Fleet'],
  ['tasks', 'Tasks'],
  ['triggers', 'Triggers'],
  ['tokens', 'API tokens'],
] as const;

function Shell({ onSignOut, onEvent }: { onSignOut: () => void; onEvent: (event: LiveEvent) => void }) {
  const route = useRoute();
  const [me] = useQuery({ query: MeDocument });
  const [latest, setLatest] = useState<ExportFinishedSubscription['tripExportFinished']>();
  useSubscription({ query: ExportFinishedDocument }, (_previous: unknown, event: ExportFinishedSubscription) => {
    const e = event.tripExportFinished;
    setLatest(e);
    onEvent({ kind: 'export', deviceId: e.device.id, tripId: e.trip.id, taskId: e.task.id });
    return event;
  });
  // Task state changes (PENDING, STARTED, SUCCESS, FAILURE) and trips starting, ending and reopening.
  useSubscription({ query: TaskUpdatedDocument }, (_previous: unknown, event: TaskUpdatedSubscription) => {
    const e = event.taskUpdated;
    onEvent({ kind: 'task', deviceId: e.deviceId, tripId: e.tripId, taskId: e.taskId });
    return event;
  });
  useSubscription({ query: TripUpdatedDocument }, (_previous: unknown, event: TripUpdatedSubscription) => {
    const e = event.tripUpdated;
    onEvent({ kind: 'trip', deviceId: e.deviceId, tripId: e.tripId });
    return event;
  });
  const [screen, id] = route;
  return (
    <div class="shell">
      <header>
        <strong class="brand">trip-export</strong>
        <nav aria-label="Main">
          {NAV.map(([path, label]) => (
            <a key={path} href={`#/${path}`} aria-current={(screen ?? '') === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <LiveStatus />
        <span class="who">{me.data?.me.email ?? me.data?.me.customer.name}</span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {latest && (
        <p class="toast" role="status" aria-live="polite" data-testid="live-event">
          Export {latest.reason}: {latest.device.name}, trip <a href={`#/trips/${latest.trip.id}`}>{shortId(latest.trip.id)}</a>
        </p>
      )}
      <main>
        {screen === 'devices' && id ? (
          <DeviceScreen id={id} />
        ) : screen === 'trips' && id ? (
          <TripScreen id={id} />
        ) : screen === 'tasks' ? (
          <TasksScreen />
        ) : screen === 'triggers' ? (
          <TriggersScreen />
        ) : screen === 'tokens' ? (
          <TokensScreen />
        ) : (
          <FleetScreen />
        )}
      </main>
    </div>
  );
}

function LiveStatus() {
  return (
    <LiveContext.Consumer>
      {(live) => (
        <span class={`live live-${live.status}`} role="status" aria-label={`Live updates: ${live.status}`} data-status={live.status}>
          {live.status}
        </span>
      )}
    </LiveContext.Consumer>
  );
}
