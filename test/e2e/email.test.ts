import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { AddressObject } from 'mailparser';

import { verifyDownloadSignature } from '../../src/notify/download-link.js';
import { writeSignal } from '../factories/signals.js';
import { gql } from '../support/http.js';
import { createFleet, createTrigger, type Fleet, waitForDelivery } from '../support/notify-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';

const addresses = (field: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) => a.value.map((v) => v.address ?? ''));

describe('e-mail announcements over SMTP', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let acme: Fleet;

  before(async () => {
    sink = await startSmtpSink();
    t = await startTestApp({ SMTP_URL: sink.url, MAIL_FROM: 'Fleet exports <exports@fleet.test>', DELIVERY_RETRY_SECONDS: '0.2,0.2', PUBLIC_URL: 'https://exports.example.test' });
    acme = await createFleet(t.db.orm, t.config, 'Acme');
  });
  after(async () => {
    await t.close();
    await sink.close();
  });

  it('mails the recipients a message naming the vehicle, the trip times and the download link', async () => {
    const { id } = await createTrigger(t.baseUrl, acme.customer.apiToken, {
      description: 'mail the office',
      type: 'SIGNAL',
      signal: 'trip_export_finished',
      email: { recipients: ['Office@Fleet.test', 'boss@fleet.test'] },
    });
    const signal = await writeSignal(t.db.orm, acme.customer, { ...acme.device, name: 'Truck <7> & co' }, acme.trip);
    const delivery = await waitForDelivery(t.baseUrl, acme.customer.apiToken, id, ['DELIVERED']);
    assert.equal(delivery.channel, 'EMAIL');
    assert.equal(delivery.webhookId, null);
    assert.equal(delivery.attemptLog[0]?.statusCode, 250);

    const mail = await waitFor(() => sink.mails.at(-1), 'the mail');
    assert.equal(sink.mails.length, 1);
    assert.deepEqual(addresses(mail.to).sort(), ['boss@fleet.test', 'office@fleet.test']);
    assert.deepEqual(addresses(mail.from), ['exports@fleet.test']);
    assert.equal(mail.messageId, `<${delivery.id}@exports.example.test>`);
    assert.equal(mail.subject, `Trip export ready: Truck <7> & co (vehicle ${acme.device.vehicleId}), 2026-11-25 08:00:00 UTC to 2026-11-25 08:42:10 UTC`);

    const text = mail.text ?? '';
    assert.match(text, /Vehicle: Truck <7> & co \(vehicle \d+\)/);
    assert.match(text, /Started: 2026-11-25 08:00:00 UTC/);
    assert.match(text, /Ended: 2026-11-25 08:42:10 UTC/);
    assert.match(text, new RegExp(`Trip: ${acme.trip.id}`));
    const link = /Download: (\S+)/.exec(text)?.[1];
    assert.ok(link);
    const url = new URL(link);
    assert.equal(url.pathname, `/tasks/${signal.taskId}/result/`);
    assert.ok(verifyDownloadSignature(t.config, signal.taskId, acme.customer.customerId, url.searchParams.get('expires'), url.searchParams.get('signature')));

    const html = typeof mail.html === 'string' ? mail.html : '';
    assert.ok(html.includes('Truck &lt;7&gt; &amp; co'), 'names are escaped in HTML');
    assert.ok(html.includes(`href="${link.replace(/&/g, '&amp;')}"`), 'the HTML links the same URL');
    assert.ok(html.includes('2026-11-25 08:42:10 UTC'));
    await gql(t.baseUrl, 'mutation($id: ID!) { deleteTrigger(id: $id) }', { id }, acme.customer.apiToken);
  });

  it('retries an SMTP server that refuses, like a webhook, and sends the message once', async () => {
    const before = sink.mails.length;
    sink.refuseNext(2);
    const { id } = await createTrigger(t.baseUrl, acme.customer.apiToken, {
      description: 'flaky mail',
      type: 'SIGNAL',
      signal: 'trip_export_finished',
      email: { recipients: ['ops@fleet.test'] },
    });
    await writeSignal(t.db.orm, acme.customer, acme.device, acme.trip, { reason: 'reannounce' });
    const delivery = await waitForDelivery(t.baseUrl, acme.customer.apiToken, id, ['DELIVERED']);
    assert.equal(delivery.attempts, 3);
    assert.deepEqual(
      delivery.attemptLog.map((a) => [a.succeeded, a.statusCode]),
      [
        [false, 451],
        [false, 451],
        [true, 250],
      ],
    );
    assert.match(delivery.attemptLog[0]?.error ?? '', /SMTP: 451/);
    assert.equal(sink.refused(), 2);
    const mine = sink.mails.slice(before);
    assert.equal(mine.length, 1);
    assert.deepEqual(addresses(mine[0]?.to), ['ops@fleet.test']);
    assert.match(mine[0]?.subject ?? '', /^Reminder: trip export ready/);
    assert.equal(delivery.reason, 'reannounce');
  });
});
