import type { TemplateContext } from '../../notify/body-template.js';
import type { MailMessage } from '../../notify/mailer.js';
import type { Trigger } from '../triggers/trigger.entity.js';
import type { DeviceEventMessage } from './announcement-topics.js';
import type { DeviceEventPayload, Signal } from './signal.entity.js';
import { cursorOf } from './signal-stream.js';
import { escapeHtml, readableTime } from './trip-export-mail.js';

export const deviceEventMessageOf = (signal: Signal): DeviceEventMessage => ({
  eventId: signal.id,
  position: signal.position ?? 0,
  cursor: cursorOf(signal.name, signal.position ?? 0),
  customerId: signal.customer.id,
  deviceId: signal.deviceId,
  occurredAt: signal.createdAt,
  // A device_event row always carries this shape (see DeviceEventSignals.fire).
  payload: signal.payload as unknown as DeviceEventPayload,
});

/** The Standard Webhooks body: the record exactly as stored, and the device that logged it. */
export const deviceEventEnvelope = (m: DeviceEventMessage): Record<string, unknown> => ({
  type: 'device_event',
  timestamp: m.occurredAt,
  data: { event_id: m.eventId, tag: m.payload.tag, at: m.payload.at, record: m.payload.record, device: m.payload.device },
});

/** What a custom body template can name for a device event: {{signal.*}}, {{event.*}}, {{record.*}}, {{device.*}}, {{trigger.*}}. */
export const deviceEventTemplateContext = (m: DeviceEventMessage, trigger: Pick<Trigger, 'id' | 'description'>): TemplateContext => ({
  signal: { id: m.eventId, name: 'device_event', reason: 'event', created_at: m.occurredAt },
  event: { tag: m.payload.tag, at: m.payload.at },
  record: m.payload.record,
  device: m.payload.device,
  trigger: { id: trigger.id, description: trigger.description },
});

/** The e-mail for one device event: which vehicle, which tag and when, and the record itself. */
export function deviceEventMail(m: DeviceEventMessage, trigger: Pick<Trigger, 'description'>, to: readonly string[], messageId: string): MailMessage {
  const { device, tag, at, record } = m.payload;
  const vehicle = `${device.name} (vehicle ${device.vehicle_id})`;
  const subject = `${tag} on ${vehicle} at ${readableTime(at)}`;
  const facts: [string, string][] = [
    ['Event', tag],
    ['Vehicle', vehicle],
    ['Device unit id', device.unit_id],
    ['Logged at', readableTime(at)],
    ['Trigger', trigger.description],
  ];
  const json = JSON.stringify(record, null, 2);
  const intro = 'A device logged an event one of your triggers listens to.';
  const text = [intro, '', ...facts.map(([k, v]) => `${k}: ${v}`), '', 'Record:', json, ''].join('\n');
  const html = [
    `<p>${escapeHtml(intro)}</p>`,
    '<table>',
    ...facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`),
    '</table>',
    `<pre>${escapeHtml(json)}</pre>`,
  ].join('\n');
  return { to, subject, text, html, messageId };
}
