import pg from 'pg';

export interface WorkListener {
  close(): Promise<void>;
}

/**
 * LISTENs on `channel` over a connection of its own and calls `onWork` for every
 * notification. A lost connection is re-established after a pause that grows to 30 s while
 * the database stays away; meanwhile the dispatcher's polling keeps things moving.
 */
export function listenForWork(url: string, channel: string, onWork: () => void, onError: (error: unknown) => void): WorkListener {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let pauseMs = 1000;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url });
    client = next;
    const reconnect = (error?: unknown): void => {
      if (closed || client !== next) return;
      if (error) onError(error);
      client = undefined;
      void next.end().catch(() => undefined);
      retry = setTimeout(() => void connect(), pauseMs);
      pauseMs = Math.min(pauseMs * 2, 30_000);
    };
    next.on('error', reconnect);
    next.on('end', () => reconnect());
    next.on('notification', () => onWork());
    try {
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      pauseMs = 1000;
      // Work may have arrived while we were not listening.
      onWork();
    } catch (error) {
      reconnect(error);
    }
  };
  void connect();

  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
