/**
 * Announcement scenario: many graphql-ws subscribers, a real export, and the time from the
 * task turning SUCCESS (its finished_at) to each subscriber receiving the event; then webhook
 * deliveries per second to a local receiver.
 */
import { createServer, type Server } from 'node:http';

import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { Signal } from '../../src/modules/announcements/signal.entity.js';
import type { BenchContext } from '../context.js';
import type { StoredTrip } from './export.js';

export interface Subscribers {
  readonly clients: Client[];
  /** Receipt times (ms since epoch) of the current round, one per subscriber. */
  received: number[];
  close(): Promise<void>;
}

export async function connectSubscribers(baseUrl: string, token: string, count: number): Promise<Subscribers> {
  const url = baseUrl.replace(/^http/, 'ws') + '/graphql';
  const state: Subscribers = {
    clients: [],
    received: [],
    async close() {
      for (const client of state.clients) await client.dispose();
    },
  };
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `APIToken ${token}` }, lazy: false, retryAttempts: 0 });
    state.clients.push(client);
    ready.push(
      new Promise<void>((resolve, reject) => {
        client.on('connected', () => resolve());
        client.on('closed', (event) => reject(new Error(`subscriber closed: ${JSON.stringify(event)}`)));
      }),
    );
    client.subscribe(
      { query: 'subscription { tripExportFinished { eventId } }' },
      {
        next: () => state.received.push(Date.now()),
        error: (error) => console.error('[bench] subscriber error', error),
        complete: () => undefined,
      },
    );
  }
  await Promise.all(ready);
  // Give the server a moment to register every subscription after the acks.
  await new Promise((r) => setTimeout(r, 1000));
  return state;
}

/** Exports the trip through `POST /tasks/` and waits until every subscriber has the event. */
export async function announceRound(ctx: BenchContext, baseUrl: string, trip: StoredTrip, subscribers: Subscribers, timeoutMs = 60_000): Promise<number[]> {
  subscribers.received = [];
  const response = await fetch(`${baseUrl}/tasks/`, {
    method: 'POST',
    headers: { authorization: `APIToken ${ctx.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ task: 'core.tasks.es_trip_export', args: [], kwargs: { trip_id: trip.tripId } }),
  });
  const task = (await response.json()) as { id: number; detail?: string };
  if (!response.ok) throw new Error(`POST /tasks/ failed: ${task.detail}`);
  const deadline = Date.now() + timeoutMs;
  while (subscribers.received.length < subscribers.clients.length) {
    if (Date.now() > deadline) throw new Error(`only ${subscribers.received.length} of ${subscribers.clients.length} subscribers got the event`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const { rows } = await ctx.db.pool.query<{ finished: string }>('SELECT (extract(epoch from finished_at) * 1000)::float8 AS finished FROM tasks WHERE id = $1', [task.id]);
  const finished = Number(rows[0]!.finished);
  return subscribers.received.map((t) => t - finished);
}

/** A receiver answering 204 to every webhook, counting them. */
export async function startReceiver(): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n += 1;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/hook`, count: () => n, close: () => new Promise((r) => server.close(() => r())) };
}

/** Writes `count` signals to the outbox at once and times their webhook deliveries. */
export async function webhookThroughput(ctx: BenchContext, baseUrl: string, trip: StoredTrip, count: number): Promise<number> {
  const receiver = await startReceiver();
  try {
    const created = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `APIToken ${ctx.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($i: CreateTriggerInput!) { createTrigger(input: $i) { trigger { id } } }',
        variables: { i: { description: 'bench', type: 'SIGNAL', signal: 'trip_export_finished', webhook: { url: receiver.url } } },
      }),
    });
    const body = (await created.json()) as { errors?: unknown[] };
    if (body.errors) throw new Error(`createTrigger failed: ${JSON.stringify(body.errors)}`);
    const em = ctx.db.orm.em.fork();
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      em.create(Signal, {
        customer: ctx.principal.customerId,
        name: 'trip_export_finished',
        reason: 'reannounce',
        deviceId: trip.deviceId,
        tripId: trip.tripId,
        taskId: String(1_000_000 + i),
        payload: {
          task: { id: 1_000_000 + i, state: 'SUCCESS', created_at: trip.startTs },
          trip: { id: trip.tripId, start_time_utc: trip.startTs, end_time_utc: trip.endTs },
          device: { id: trip.deviceId, unit_id: '', vehicle_id: 0, name: 'bench' },
          result: { bytes: 1, sha256: '00'.repeat(32), records: 1, first_ts: trip.startTs, last_ts: trip.endTs },
        },
      });
    }
    await em.flush();
    const deadline = Date.now() + 120_000;
    while (receiver.count() < count) {
      if (Date.now() > deadline) throw new Error(`only ${receiver.count()} of ${count} webhooks arrived`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    await receiver.close();
  }
}
