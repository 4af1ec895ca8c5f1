import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';

/** What a live event concerns: screens refetch only when it is something they show. */
export interface LiveEvent {
  readonly kind: 'export' | 'task' | 'trip';
  readonly deviceId: string;
  readonly tripId: string;
  readonly taskId?: string;
}

export interface LiveState {
  /** Grows with every live event and every reconnect: pages refetch when it changes. */
  readonly version: number;
  readonly status: 'connecting' | 'live' | 'reconnecting';
  /** The event behind the last change of `version`; undefined after a reconnect (anything may have changed). */
  readonly event?: LiveEvent;
}

export const LiveContext = createContext<LiveState>({ version: 0, status: 'connecting' });

/**
 * Calls `refetch` whenever something may have changed behind the page's back (an export
 * finished, a task changed state, a trip started or ended, or the socket came back after a
 * drop and events may have been missed). With `concerns`, only events it accepts refetch;
 * a reconnect always does. Never while the page's query is `fetching`: a refetch then would
 * abort the request in flight, so a burst of events costs one refetch after it.
 */
export function useLiveRefetch(refetch: () => void, options: { fetching: boolean; concerns?: (event: LiveEvent) => boolean }): void {
  const { version, event } = useContext(LiveContext);
  const seen = useRef(version);
  const [due, setDue] = useState(false);
  useEffect(() => {
    if (version === seen.current) return;
    seen.current = version;
    if (!event || !options.concerns || options.concerns(event)) setDue(true);
  }, [version]);
  useEffect(() => {
    if (!due || options.fetching) return;
    setDue(false);
    refetch();
  }, [due, options.fetching]);
}
