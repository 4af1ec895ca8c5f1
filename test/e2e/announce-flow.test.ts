import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { print } from 'graphql';

import { writeSignal } from '../factories/signals.js';
import { TripExportFinishedDocument, type TripExportFinishedSubscription } from '../generated/graphql.js';
import { createFleet, createTrigger, type Fleet, webhookTrigger } from '../support/notify-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { startWebhookReceiver, verifyWithStandardWebhooks, type WebhookReceiver } from '../support/webhook-receiver.js';
import { connectWs, type WsConnection } from '../support/ws-client.js';

/**
 * The "done when": a finished export reaches a subscriber, a webhook receiver and a
 * mailbox, each exactly once per announcement, and the daily re-announcement takes the
 * same path. The poll interval is left at its default (1 s) so that what wakes the
 * dispatcher is the NOTIFY from the outbox, as in production.
 */
describe('one announcement, every channel, exactly once', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let receiver: WebhookReceiver;
  let socket: WsConnection;
  let acme: Fleet;

  before(async () => {
    sink = await startSmtpSink();
    receiver = await startWebhookReceiver();
    t = await startTestApp({ SMTP_URL: sink.url, JOB_POLL_MS: '1000' });
    acme = await createFleet(t.db.orm, t.config, 'Acme');
  });
  after(async () => {
    await socket?.dispose();
    await t.close();
    await sink.close();
    await receiver.close();
  });

  it('reaches the subscriber, the webhook and the mailbox once for the export and once for its re-announcement', async (ctx) => {
    const { secret } = await createTrigger(t.baseUrl, acme.customer.apiToken, webhookTrigger(receiver.url, { email: { recipients: ['fleet@acme.test'] } }));
    socket = connectWs(t.baseUrl, `APIToken ${acme.customer.apiToken}`);
    const sub = socket.subscribe<TripExportFinishedSubscription>(print(TripExportFinishedDocument));
    await waitFor(() => t.app.ws!.liveSubscriptions() === 1, 'the subscription');

    for (const [round, reason] of [
      [1, 'finished'],
      [2, 'reannounce'],
    ] as const) {
      const written = Date.now();
      const signal = await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip, { reason, taskId: 4242 });
      await waitFor(() => sub.events.length >= round && receiver.received.length >= round && sink.mails.length >= round, `round ${round} on every channel`);
      ctx.diagnostic(`round ${round}: every channel reached ${Date.now() - written} ms after the signal was committed`);

      const event = sub.events[round - 1]!.tripExportFinished;
      assert.equal(event.eventId, signal.id);
      assert.equal(event.reason, reason);
      const hook = verifyWithStandardWebhooks(secret, receiver.received[round - 1]!) as { data: { event_id: string; reason: string } };
      assert.deepEqual([hook.data.event_id, hook.data.reason], [signal.id, reason]);
      assert.equal(sink.mails[round - 1]?.subject?.startsWith(reason === 'reannounce' ? 'Reminder:' : 'Trip export ready'), true);
    }
    // Rounds are sequential: had round 1 been sent twice, the second copy would be counted by now.
    assert.equal(sub.events.length, 2);
    assert.equal(receiver.received.length, 2);
    assert.equal(sink.mails.length, 2);
    assert.notEqual(receiver.received[0]?.headers['webhook-id'], receiver.received[1]?.headers['webhook-id'], 'a re-announcement is a new message');
  });
});
