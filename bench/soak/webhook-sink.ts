/**
 * The soak's webhook receiver on loopback: verifies every request with the independent
 * `standardwebhooks` package, as a customer's receiver would, and answers as the fault
 * injector says: 204, 503 (failing) or nothing at all (hanging, until the sender gives up).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { Webhook } from 'standardwebhooks';

export type SinkMode = 'ok' | 'fail' | 'hang';

/** One accepted (2xx) announcement with a valid signature. */
export interface Announced {
  readonly webhookId: string;
  readonly taskId: string;
  readonly sha256: string;
}

export interface SinkCounts {
  requests: number;
  accepted: number;
  /** Answered 503 while failing. */
  failed: number;
  /** Never answered while hanging. */
  hung: number;
  badSignatures: number;
}

export interface WebhookSink {
  readonly url: string;
  mode: SinkMode;
  readonly counts: Readonly<SinkCounts>;
  /** Accepted announcements by task id. */
  readonly announced: ReadonlyMap<string, readonly Announced[]>;
  /** Set once the trigger exists (its secret is shown at creation). */
  secret: string | undefined;
  close(): Promise<void>;
}

interface Envelope {
  readonly type?: string;
  readonly data?: { task?: { id?: unknown }; result?: { sha256?: unknown } };
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const counts: SinkCounts = { requests: 0, accepted: 0, failed: 0, hung: 0, badSignatures: 0 };
  const announced = new Map<string, Announced[]>();
  const state: { mode: SinkMode; secret: string | undefined } = { mode: 'ok', secret: undefined };

  const accept = (headers: http.IncomingHttpHeaders, body: string): boolean => {
    if (!state.secret) return false;
    const header = (name: string) => String(headers[name] ?? '');
    let envelope: Envelope;
    try {
      envelope = new Webhook(state.secret).verify(body, {
        'webhook-id': header('webhook-id'),
        'webhook-timestamp': header('webhook-timestamp'),
        'webhook-signature': header('webhook-signature'),
      }) as Envelope;
    } catch {
      return false;
    }
    const id = envelope.data?.task?.id;
    const sha256 = envelope.data?.result?.sha256;
    if (envelope.type !== 'trip_export_finished' || (typeof id !== 'number' && typeof id !== 'string') || typeof sha256 !== 'string') return false;
    const taskId = String(id);
    const list = announced.get(taskId) ?? [];
    list.push({ webhookId: header('webhook-id'), taskId, sha256 });
    announced.set(taskId, list);
    return true;
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      counts.requests += 1;
      if (state.mode === 'hang') {
        // The sender's timeout ends the exchange; closing the sink ends what is left.
        counts.hung += 1;
        return;
      }
      if (state.mode === 'fail') {
        counts.failed += 1;
        return void response.writeHead(503).end();
      }
      if (!accept(request.headers, Buffer.concat(chunks).toString('utf8'))) {
        counts.badSignatures += 1;
        return void response.writeHead(400).end();
      }
      counts.accepted += 1;
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/soak`,
    get mode() {
      return state.mode;
    },
    set mode(mode: SinkMode) {
      state.mode = mode;
    },
    get secret() {
      return state.secret;
    },
    set secret(secret: string | undefined) {
      state.secret = secret;
    },
    counts,
    announced,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
