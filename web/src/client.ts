import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { type Client as WsClient, createClient as createWsClient } from 'graphql-ws';

export interface Connection {
  readonly client: Client;
  readonly ws: WsClient;
}

export interface ConnectionEvents {
  /** The socket is up; `resumed` after a drop (events may have been missed: refetch). */
  onConnected(resumed: boolean): void;
  onDropped(): void;
  /** The server refused the credentials (4403): the session is over. */
  onForbidden(): void;
}

/**
 * One urql client for queries and mutations (HTTP) and subscriptions (graphql-ws on the same
 * origin). The socket retries for ever with graphql-ws's backoff, and resubscribes by itself.
 */
export function connect(authorization: string, events: ConnectionEvents): Connection {
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  let forbidden = false;
  const ws = createWsClient({
    url: wsUrl,
    connectionParams: { authorization },
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => {
      if ((event as CloseEvent | undefined)?.code === 4403) {
        forbidden = true;
        events.onForbidden();
        return false;
      }
      return true;
    },
    onNonLazyError: () => undefined,
    on: {
      connected: (_socket, _payload, wasRetry) => events.onConnected(wasRetry),
      closed: () => {
        if (!forbidden) events.onDropped();
      },
    },
  });
  const client = new Client({
    url: '/graphql',
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization } }),
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return { client, ws };
}
