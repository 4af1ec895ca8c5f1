import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';

export interface LiveState {
  /** Grows with every export event and every reconnect: pages refetch when it changes. */
  readonly version: number;
  readonly status: 'connecting' | 'live' | 'reconnecting';
}

export const LiveContext = createContext<LiveState>({ version: 0, status: 'connecting' });

/**
 * Calls `refetch` whenever something may have changed behind the page's back (an export
 * finished, or the socket came back after a drop and events may have been missed).
 */
export function useLiveRefetch(refetch: () => void): void {
  const { version } = useContext(LiveContext);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    refetch();
  }, [version]);
}
