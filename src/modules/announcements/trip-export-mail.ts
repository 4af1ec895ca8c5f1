import type { MailMessage } from '../../notify/mailer.js';
import type { Announcement } from './rendered-announcement.js';

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** "2026-11-25 08:00:00 UTC" from an ISO time; the raw value when it is not one. */
export function readableTime(value: unknown): string {
  if (typeof value !== 'string' || !value) return 'unknown';
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(value);
  return match ? `${match[1]} ${match[2]} UTC` : value;
}

/**
 * The e-mail for one announcement: which vehicle, when the trip ran, and the link to download
 * the export, in plain text and in HTML.
 */
export function tripExportMail(a: Announcement, to: readonly string[], messageId: string): MailMessage {
  const vehicle = `${a.device.name} (vehicle ${a.device.vehicle_id})`;
  const tripId = typeof a.trip.id === 'string' ? a.trip.id : '';
  const start = readableTime(a.trip.start_time_utc);
  const end = readableTime(a.trip.end_time_utc);
  const reminder = a.reason === 'reannounce';
  const updated = a.reason === 'updated';
  const subject = `${reminder ? 'Reminder: t' : 'T'}rip export ${updated ? `updated (revision ${a.revision})` : 'ready'}: ${vehicle}, ${start} to ${end}`;
  const facts: [string, string][] = [
    ['Vehicle', vehicle],
    ['Device unit id', a.device.unit_id],
    ['Trip', tripId],
    ['Started', start],
    ['Ended', end],
    ['Revision', `${a.revision} (${a.reason})`],
    ['Records', String(a.result.records)],
    ['Size', `${a.result.bytes} bytes (gzip), SHA-256 ${a.result.sha256}`],
  ];
  const intro = reminder
    ? 'This trip export is still waiting to be downloaded and cleared.'
    : updated
      ? 'A trip changed after it was exported (data arrived late, or it was exported again): its new export replaces the previous one.'
      : 'The export of a trip has finished.';
  const outro = `The link works until ${readableTime(a.downloadUrlExpiresAt)}. Once downloaded, clear the result (tasks/${a.task.id}/clear_result/) so it is not announced again.`;
  const text = [intro, '', ...facts.map(([k, v]) => `${k}: ${v}`), '', `Download: ${a.result.download_url}`, '', outro, ''].join('\n');
  const html = [
    `<p>${escapeHtml(intro)}</p>`,
    '<table>',
    ...facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`),
    '</table>',
    `<p><a href="${escapeHtml(a.result.download_url)}">Download ${escapeHtml(tripId || 'the export')}.json.gz</a></p>`,
    `<p>${escapeHtml(outro)}</p>`,
  ].join('\n');
  return { to, subject, text, html, messageId };
}
