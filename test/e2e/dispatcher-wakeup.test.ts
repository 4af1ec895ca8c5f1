import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { WORK_CHANNEL } from '../../src/modules/announcements/fan-out.js';
import { writeSignal } from '../factories/signals.js';
import { createFleet, createTrigger, type Fleet, waitForDelivery, webhookTrigger } from '../support/notify-fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * With the poll interval at a minute, only the NOTIFY fired by the outbox table can explain
 * a delivery within seconds: these tests prove the wake-up path, and that it survives the
 * LISTEN connection being killed.
 */
describe('the dispatcher wakes on NOTIFY, not on its poll', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let acme: Fleet;
  let triggerId: string;

  before(async () => {
    receiver = await startWebhookReceiver();
    t = await startTestApp({ JOB_POLL_MS: '60000' });
    acme = await createFleet(t.db.orm, t.config, 'Acme');
    triggerId = (await createTrigger(t.baseUrl, acme.customer.apiToken, webhookTrigger(receiver.url))).id;
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  // The dispatcher's LISTEN connection (the job runner polls and listens on nothing).
  const listeners = async (): Promise<number[]> =>
    (await t.db.pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE $1', [`LISTEN%${WORK_CHANNEL}%`])).rows.map(
      (r) => r.pid,
    );

  it('delivers a signal written by someone else as soon as it commits', async () => {
    await waitFor(async () => (await listeners()).length === 1, 'the LISTEN connection');
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    await waitForDelivery(t.baseUrl, acme.customer.apiToken, triggerId, ['DELIVERED'], 5000);
  });

  it('listens again after its connection is killed', async () => {
    const [pid] = await listeners();
    await t.db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(async () => {
      const now = await listeners();
      return now.length === 1 && now[0] !== pid;
    }, 'a new LISTEN connection');
    const before = receiver.received.length;
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip);
    await waitFor(() => receiver.received.length > before, 'the webhook after reconnecting', 5000);
    assert.equal(receiver.received.length, before + 1);
  });
});
