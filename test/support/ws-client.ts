/** A real graphql-ws client over `ws`, as a dashboard would connect. */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface Subscriber<T> {
  readonly events: T[];
  readonly errors: unknown[];
  stop(): void;
}

export interface WsConnection {
  readonly client: Client;
  /** Resolves with the close code once the server closes the socket. */
  readonly closed: Promise<number>;
  subscribe<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Subscriber<T>;
  dispose(): Promise<void>;
}

export function connectWs(baseUrl: string, authorization: string | undefined): WsConnection {
  let onClosed: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    lazy: false,
    retryAttempts: 0,
    on: { closed: (event) => onClosed((event as { code: number }).code) },
    onNonLazyError: () => undefined,
  });
  return {
    client,
    closed,
    subscribe<T>(query: string, variables: Record<string, unknown> = {}) {
      const events: T[] = [];
      const errors: unknown[] = [];
      const stop = client.subscribe<T>(
        { query, variables },
        {
          next: (value) => (value.errors ? errors.push(value.errors) : events.push(value.data as T)),
          error: (error) => errors.push(error),
          complete: () => undefined,
        },
      );
      return { events, errors, stop };
    },
    dispose: () => client.dispose() as Promise<void>,
  };
}
