import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
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
 * The SHA-256 of an operation's text, in hex, for an automatic persisted query; '' where the page
 * is not a secure context (plain HTTP to another host than localhost), which has no WebCrypto:
 * the query then goes with its text, as without the exchange.
 */
async function sha256Hex(text: string): Promise<string> {
  const subtle = globalThis.crypto?.subtle as SubtleCrypto | undefined;
  if (!subtle) return '';
  const digest = new Uint8Array(await subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * One urql client for queries and mutations (HTTP) and subscriptions (graphql-ws on the same
 * origin). The socket retries for ever with graphql-ws's backoff, and resubscribes by itself.
 *
 * Queries go as automatic persisted queries: the operation's hash without its text, and the
 * text only when the service does not know it yet (urql sends it after a
 * `PersistedQueryNotFound`: a restarted service, another instance). The service then neither
 * parses the text out of the body nor hashes it (2–3.5% of its CPU for a dashboard page,
 * bench/results.md). Still POST: a GET without a preflight header is refused by Apollo's CSRF
 * prevention.
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
      persistedExchange({ preferGetForPersistedQueries: false, generateHash: sha256Hex }),
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
