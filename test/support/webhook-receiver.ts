/** A real HTTP server that records what it is sent and answers as the test scripts it. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly receivedAt: number;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Hold the answer this long (to exceed a timeout). */
  readonly delayMs?: number;
  /** Stream a body that never ends (until the client hangs up). */
  readonly endless?: boolean;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** Answers for the next requests, in order; afterwards `fallback`. */
  script(...answers: ScriptedAnswer[]): void;
  fallback: ScriptedAnswer;
  close(): Promise<void>;
}

export async function startWebhookReceiver(fallback: ScriptedAnswer = { status: 204 }): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const queue: ScriptedAnswer[] = [];
  const state = { fallback };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      received.push({ path: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() });
      const answer = queue.shift() ?? state.fallback;
      const send = (): void => {
        if (response.destroyed) return;
        response.writeHead(answer.status, answer.headers);
        if (!answer.endless) return void response.end(answer.body);
        const chunk = Buffer.alloc(8192, 'y');
        const timer = setInterval(() => (response.destroyed ? clearInterval(timer) : response.write(chunk)), 5);
        response.on('close', () => clearInterval(timer));
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/trip-export`,
    received,
    script: (...answers) => queue.push(...answers),
    get fallback() {
      return state.fallback;
    },
    set fallback(answer: ScriptedAnswer) {
      state.fallback = answer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Verifies a received webhook with the independent `standardwebhooks` package, the way a
 * customer's receiver would; throws when the signature or timestamp does not check out.
 */
export function verifyWithStandardWebhooks(secret: string, hook: ReceivedWebhook): unknown {
  return new Webhook(secret).verify(hook.body, {
    'webhook-id': String(hook.headers['webhook-id']),
    'webhook-timestamp': String(hook.headers['webhook-timestamp']),
    'webhook-signature': String(hook.headers['webhook-signature']),
  });
}
