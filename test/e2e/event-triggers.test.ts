import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { print } from 'graphql';
import type { AddressObject } from 'mailparser';

import { microsToIso } from '../../src/lib/time.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { at, type DeviceRecord, upload } from '../factories/records.js';
import { DeviceEventDocument, type DeviceEventSubscription } from '../generated/graphql.js';
import { createTrigger, waitForDelivery } from '../support/notify-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { type ReceivedWebhook, startWebhookReceiver, verifyWithStandardWebhooks, type WebhookReceiver } from '../support/webhook-receiver.js';
import { connectWs, type WsConnection } from '../support/ws-client.js';

interface Envelope {
  type: string;
  timestamp: string;
  data: {
    event_id: string;
    tag: string;
    at: string;
    record: Record<string, unknown>;
    device: { id: string; unit_id: string; vehicle_id: number; name: string };
  };
}

type Event = DeviceEventSubscription['deviceEvent'];

/** An hour ago: inside the window of trusted record times, in a month partition of its own. */
const BASE = microsToIso(BigInt(Date.now() - 3600_000) * 1000n);

const event = (ts: string, tag: string, extra: Record<string, unknown> = {}): DeviceRecord => ({ '@t': 'event.vehicle.battery', '@tag': tag, '@ts': ts, ...extra });
const noise = (ts: string): DeviceRecord => ({ '@t': 'obd.rpm', '@ts': ts, 'obd.rpm.value': 900 });

const addresses = (field: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) => a.value.map((v) => v.address ?? ''));

describe('EVENT triggers fire on uploaded records', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let receiver: WebhookReceiver;
  let acme: TestCustomer;
  let globex: TestCustomer;
  const sockets: WsConnection[] = [];

  before(async () => {
    sink = await startSmtpSink();
    receiver = await startWebhookReceiver();
    t = await startTestApp({ SMTP_URL: sink.url, MAIL_FROM: 'Fleet <events@fleet.test>', DELIVERY_RETRY_SECONDS: '0.2,0.2' });
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
  });
  after(async () => {
    await Promise.allSettled(sockets.map((s) => s.dispose()));
    await t.close();
    await receiver.close();
    await sink.close();
  });

  /** An EVENT trigger posting to the receiver under its own path, so each test reads only its own hooks. */
  async function eventTrigger(customer: TestCustomer, eventTag: string, extra: { deviceId?: string; minIntervalSeconds?: number } = {}) {
    const path = `${receiver.url}/${Math.random().toString(36).slice(2)}`;
    const { id, secret } = await createTrigger(t.baseUrl, customer.apiToken, { description: `on ${eventTag}`, type: 'EVENT', eventTag, webhook: { url: path }, ...extra });
    const hooks = (): ReceivedWebhook[] => receiver.received.filter((r) => path.endsWith(r.path));
    const bodies = (): Envelope[] => hooks().map((hook) => verifyWithStandardWebhooks(secret, hook) as Envelope);
    return { id, secret, hooks, bodies };
  }

  /** `device @ts` of every announcement the trigger fired: written by the upload itself, final once it answered. */
  async function fired(triggerId: string, devices: Record<string, TestDevice> = {}): Promise<string[]> {
    const rows = await t.db.orm.em
      .getConnection()
      .execute<{ device_id: string; at: string }[]>(`select device_id, payload->>'at' as at from signals where ? = any(trigger_ids) order by payload->>'at', device_id`, [
        triggerId,
      ]);
    const names = new Map(Object.entries(devices).map(([name, d]) => [d.id, name]));
    return rows.map((r) => `${names.get(r.device_id) ?? r.device_id} ${r.at}`);
  }

  async function stored(device: TestDevice, records: DeviceRecord[]): Promise<Record<string, unknown>> {
    const response = await upload(t.baseUrl, device, records);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body;
  }

  it('sends a signed device_event webhook with the record and the device; other tags and records do not fire', async () => {
    const device = await createDevice(t.db.orm, acme);
    const trigger = await eventTrigger(acme, 'one/battery/*');
    await stored(device, [noise(at(BASE, 0)), event(at(BASE, 1), 'one/battery/low', { 'battery.volts': 11.2 }), event(at(BASE, 2), 'one/battery/cell/3'), noise(at(BASE, 3))]);

    const delivery = await waitForDelivery(t.baseUrl, acme.apiToken, trigger.id, ['DELIVERED']);
    assert.equal(delivery.reason, 'event');
    assert.equal(delivery.taskId, null);
    const [hook, ...more] = trigger.hooks();
    assert.ok(hook);
    assert.equal(more.length, 0, '* stays within one level: one/battery/cell/3 does not match');
    assert.equal(hook.headers['webhook-id'], delivery.webhookId);
    const body = verifyWithStandardWebhooks(trigger.secret, hook) as Envelope;
    assert.equal(body.type, 'device_event');
    assert.equal(body.data.event_id, delivery.eventId);
    assert.equal(body.data.tag, 'one/battery/low');
    assert.equal(body.data.at, at(BASE, 1));
    assert.deepEqual(body.data.device, { id: device.id, unit_id: device.unitId, vehicle_id: device.vehicleId, name: 'Van' });
    const { '@rec': received, ...record } = body.data.record;
    assert.match(String(received), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(record, { ...event(at(BASE, 1), 'one/battery/low', { 'battery.volts': 11.2 }), '@uid': device.unitId, '@vid': device.vehicleId });
  });

  it("never delivers another customer's identical event", async () => {
    const mine = await eventTrigger(acme, 'two/battery/*');
    const theirs = await eventTrigger(globex, 'two/battery/*');
    const acmeDevice = await createDevice(t.db.orm, acme);
    const globexDevice = await createDevice(t.db.orm, globex);
    await stored(globexDevice, [event(at(BASE, 1), 'two/battery/low')]);
    await waitForDelivery(t.baseUrl, globex.apiToken, theirs.id, ['DELIVERED']);
    await stored(acmeDevice, [event(at(BASE, 1), 'two/battery/low')]);
    await waitForDelivery(t.baseUrl, acme.apiToken, mine.id, ['DELIVERED']);
    // Acme's own event came after Globex's was delivered: Globex's would have been there first.
    assert.deepEqual(
      mine.bodies().map((b) => b.data.device.id),
      [acmeDevice.id],
    );
    assert.deepEqual(
      theirs.bodies().map((b) => b.data.device.id),
      [globexDevice.id],
    );
  });

  it('fires once for a batch sent twice, and nothing for a refused batch', async () => {
    const device = await createDevice(t.db.orm, acme);
    const trigger = await eventTrigger(acme, 'three/**');
    const batch = [event(at(BASE, 1), 'three/door/open')];
    await stored(device, batch);
    assert.equal((await stored(device, batch)).duplicate, true);
    const refused = await upload(t.baseUrl, device, [event(at(BASE, 2), 'three/door/open'), { '@t': 'broken' }]);
    assert.equal(refused.status, 400);
    await stored(device, [event(at(BASE, 3), 'three/door/closed')]);
    assert.deepEqual(await fired(trigger.id, { device }), [`device ${at(BASE, 1)}`, `device ${at(BASE, 3)}`]);
    await waitFor(() => trigger.hooks().length >= 2, 'the event after the duplicate');
    await waitForDelivery(t.baseUrl, acme.apiToken, trigger.id, ['DELIVERED']);
    assert.deepEqual(
      trigger
        .bodies()
        .map((b) => b.data.at)
        .sort(),
      [at(BASE, 1), at(BASE, 3)],
    );
  });

  it('keeps minIntervalSeconds per device, in record time', async () => {
    const [van, truck] = [await createDevice(t.db.orm, acme), await createDevice(t.db.orm, acme)];
    const trigger = await eventTrigger(acme, 'four/battery/low', { minIntervalSeconds: 60 });
    // One batch and then another: 0 fires, 30 is within the interval, 61 fires again; 90 is within 61's.
    await stored(van, [event(at(BASE, 0), 'four/battery/low'), event(at(BASE, 30), 'four/battery/low')]);
    await stored(van, [event(at(BASE, 61), 'four/battery/low'), event(at(BASE, 90), 'four/battery/low')]);
    // The other vehicle is not silenced by the first one's firing.
    await stored(truck, [event(at(BASE, 10), 'four/battery/low')]);
    await stored(van, [event(at(BASE, 125), 'four/battery/low')]);
    assert.deepEqual(await fired(trigger.id, { van, truck }), [`van ${at(BASE, 0)}`, `truck ${at(BASE, 10)}`, `van ${at(BASE, 61)}`, `van ${at(BASE, 125)}`]);
    await waitFor(() => trigger.hooks().length >= 4, 'the four webhooks');
    assert.deepEqual(
      trigger
        .bodies()
        .map((b) => `${b.data.device.id === van.id ? 'van' : 'truck'} ${b.data.at}`)
        .sort(),
      [`truck ${at(BASE, 10)}`, `van ${at(BASE, 0)}`, `van ${at(BASE, 125)}`, `van ${at(BASE, 61)}`].sort(),
    );
  });

  it("fires only for the trigger's device when it names one", async () => {
    const [van, truck] = [await createDevice(t.db.orm, acme), await createDevice(t.db.orm, acme)];
    const vanOnly = await eventTrigger(acme, 'five/*', { deviceId: van.id });
    const everyDevice = await eventTrigger(acme, 'five/*');
    await stored(truck, [event(at(BASE, 1), 'five/alarm')]);
    await stored(van, [event(at(BASE, 2), 'five/alarm')]);
    assert.deepEqual(await fired(vanOnly.id, { van, truck }), [`van ${at(BASE, 2)}`]);
    assert.deepEqual(await fired(everyDevice.id, { van, truck }), [`truck ${at(BASE, 1)}`, `van ${at(BASE, 2)}`]);
    await waitFor(() => everyDevice.hooks().length >= 2 && vanOnly.hooks().length >= 1, 'both triggers fired');
    assert.deepEqual(
      vanOnly.bodies().map((b) => b.data.device.id),
      [van.id],
    );
    assert.deepEqual(
      everyDevice
        .bodies()
        .map((b) => b.data.device.id)
        .sort(),
      [truck.id, van.id].sort(),
    );
  });

  it('takes a trigger changed since the last upload into account', async () => {
    const device = await createDevice(t.db.orm, acme);
    const trigger = await eventTrigger(acme, 'six/a');
    await stored(device, [event(at(BASE, 1), 'six/a')]);
    await waitFor(() => trigger.hooks().length >= 1, 'the first firing');
    // Written behind the service's back, as another instance would: the version still moves.
    await t.db.orm.em.getConnection().execute(`update triggers set event_tag = 'six/b' where id = ?`, [trigger.id]);
    await stored(device, [event(at(BASE, 2), 'six/a'), event(at(BASE, 3), 'six/b')]);
    await waitFor(() => trigger.hooks().length >= 2, 'the firing on the new tag');
    assert.deepEqual(
      trigger.bodies().map((b) => b.data.tag),
      ['six/a', 'six/b'],
    );
  });

  it('publishes deviceEvent to subscribers of the customer, filtered by device and tag', async () => {
    const [van, truck] = [await createDevice(t.db.orm, acme), await createDevice(t.db.orm, acme)];
    await eventTrigger(acme, 'seven/**');
    const globexTrigger = await eventTrigger(globex, 'seven/**');
    const globexDevice = await createDevice(t.db.orm, globex);
    const listen = (customer: TestCustomer, variables: Record<string, unknown>) => {
      const socket = connectWs(t.baseUrl, `APIToken ${customer.apiToken}`);
      sockets.push(socket);
      return socket.subscribe<{ deviceEvent: Event }>(print(DeviceEventDocument), variables);
    };
    const base = t.app.ws!.liveSubscriptions();
    const all = listen(acme, {});
    const vanBattery = listen(acme, { deviceId: van.id, tag: 'seven/battery/*' });
    const theirs = listen(globex, {});
    const refused = listen(acme, { deviceId: globexDevice.id });
    await waitFor(() => t.app.ws!.liveSubscriptions() >= base + 3 && refused.errors.length > 0, 'the subscriptions');
    assert.match(JSON.stringify(refused.errors), /NOT_FOUND/);

    await stored(globexDevice, [event(at(BASE, 1), 'seven/battery/low')]);
    await waitFor(() => globexTrigger.hooks().length >= 1 && theirs.events.length >= 1, "Globex's own event");
    await stored(truck, [event(at(BASE, 2), 'seven/battery/low')]);
    await stored(van, [event(at(BASE, 3), 'seven/door/open'), event(at(BASE, 4), 'seven/battery/low', { 'battery.volts': 10.9 })]);
    await waitFor(() => all.events.length >= 3 && vanBattery.events.length >= 1, 'the events');

    assert.deepEqual(
      all.events.map((e) => `${e.deviceEvent.device.id} ${e.deviceEvent.tag}`).sort(),
      [`${truck.id} seven/battery/low`, `${van.id} seven/door/open`, `${van.id} seven/battery/low`].sort(),
    );
    assert.equal(vanBattery.events.length, 1);
    const only = vanBattery.events[0]!.deviceEvent;
    assert.equal(only.device.id, van.id);
    assert.equal(only.at, at(BASE, 4));
    assert.equal((JSON.parse(only.record) as Record<string, unknown>)['battery.volts'], 10.9);
    assert.equal(theirs.events.length, 1);
    assert.equal(theirs.events[0]!.deviceEvent.device.id, globexDevice.id);
    assert.deepEqual(all.errors, []);
  });

  it('resumes deviceEvent after a cursor: exactly what fired while away, then live ones', async () => {
    const device = await createDevice(t.db.orm, acme);
    await eventTrigger(acme, 'nine/*');
    const listen = (variables: Record<string, unknown>) => {
      const socket = connectWs(t.baseUrl, `APIToken ${acme.apiToken}`);
      sockets.push(socket);
      return { socket, sub: socket.subscribe<{ deviceEvent: Event }>(print(DeviceEventDocument), variables) };
    };
    const first = listen({ deviceId: device.id });
    const base = t.app.ws!.liveSubscriptions();
    await waitFor(() => t.app.ws!.liveSubscriptions() >= base, 'the first subscription');
    await stored(device, [event(at(BASE, 1), 'nine/one')]);
    await waitFor(() => first.sub.events.length >= 1, 'the first event');
    const { cursor } = first.sub.events[0]!.deviceEvent;
    await first.socket.dispose();

    // Away: two events fire and are fanned out (their webhooks arrive) while nobody listens.
    const trigger = await eventTrigger(acme, 'nine/two');
    await stored(device, [event(at(BASE, 2), 'nine/two')]);
    await stored(device, [event(at(BASE, 3), 'nine/three')]);
    await waitFor(() => trigger.hooks().length >= 1, 'the events while away to be fanned out');

    const again = listen({ deviceId: device.id, after: cursor });
    await waitFor(() => again.sub.events.length >= 2, 'the replay');
    await stored(device, [event(at(BASE, 4), 'nine/four')]);
    await waitFor(() => again.sub.events.length >= 3, 'the live event after the replay');
    assert.deepEqual(
      again.sub.events.map((e) => e.deviceEvent.tag),
      ['nine/two', 'nine/three', 'nine/four'],
    );
    assert.equal(new Set(again.sub.events.map((e) => e.deviceEvent.cursor)).size, 3);
    assert.deepEqual(again.sub.errors, []);
  });

  it('mails the recipients of an EVENT trigger', async () => {
    const device = await createDevice(t.db.orm, acme);
    const { id } = await createTrigger(t.baseUrl, acme.apiToken, {
      description: 'battery watch',
      type: 'EVENT',
      eventTag: 'eight/battery/*',
      email: { recipients: ['office@fleet.test'] },
    });
    await stored(device, [event(at(BASE, 5), 'eight/battery/low', { 'battery.volts': 11.1 })]);
    const delivery = await waitForDelivery(t.baseUrl, acme.apiToken, id, ['DELIVERED']);
    assert.equal(delivery.channel, 'EMAIL');
    const mail = await waitFor(() => sink.mails.find((m) => m.messageId === `<${delivery.id}@127.0.0.1>`), 'the mail');
    assert.deepEqual(addresses(mail.to), ['office@fleet.test']);
    assert.equal(mail.subject, `eight/battery/low on Van (vehicle ${device.vehicleId}) at ${at(BASE, 5).slice(0, 10)} ${at(BASE, 5).slice(11, 19)} UTC`);
    assert.match(mail.text ?? '', /Trigger: battery watch/);
    assert.match(mail.text ?? '', /"battery\.volts": 11\.1/);
    assert.match(mail.text ?? '', new RegExp(device.unitId));
  });
});
