import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { createCustomer } from '../factories/accounts.js';
import { startTestApp } from '../support/test-app.js';

describe('shutdown', () => {
  it('closes open WebSockets with 1001 (going away) and stops accepting requests', async () => {
    const t = await startTestApp();
    let dropped = false;
    try {
      const acme = await createCustomer(t.db.orm, t.config);
      const client = createClient({
        url: `${t.baseUrl.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `APIToken ${acme.apiToken}` },
        lazy: false,
        retryAttempts: 0,
        // The close is what this test expects; graphql-ws would print it as an error.
        onNonLazyError: () => undefined,
      });
      const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
      const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
      client.subscribe({ query: 'subscription { tripExportFinished { eventId } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      await connected;

      await t.app.close();
      dropped = true;
      assert.equal(await closed, 1001);
      await assert.rejects(fetch(`${t.baseUrl}/healthz`), 'no longer accepting connections');
      await client.dispose();
    } finally {
      if (!dropped) await t.app.close();
      await t.db.drop();
    }
  });
});
