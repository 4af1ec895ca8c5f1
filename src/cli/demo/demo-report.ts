import { formatDuration, secondsBetween } from '../../lib/time.js';
import type { CheckedExport } from './export-check.js';
import { FALLBACK_DOCUMENT } from './export-subscription.js';

export interface DemoOutcome {
  readonly baseUrl: string;
  readonly ownService: boolean;
  readonly token: string;
  readonly email: string | undefined;
  readonly device: { readonly id: string; readonly name: string; readonly unitId: string };
  readonly trip: { readonly id: string; readonly start_time_utc: string; readonly end_time_utc: string | null; readonly distance_km: number };
  readonly taskId: string | number;
  readonly batches: number;
  readonly uploaded: number;
  readonly file: string;
  readonly checked: CheckedExport;
  /** The subscription document used, or `undefined` when the service has none. */
  readonly subscription: string | undefined;
  readonly announcement: unknown;
}

const n = (value: number): string => value.toLocaleString('en-US');
const quote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The short summary a user reads at the end: what happened, and what to try next. */
export function demoReport(o: DemoOutcome): string {
  const { trip, checked } = o;
  const end = trip.end_time_utc ?? '';
  const auth = '-H "authorization: APIToken $TOKEN"';
  const announced =
    o.subscription === undefined
      ? 'not checked: this service offers no tripExportFinished subscription yet'
      : `tripExportFinished arrived over graphql-ws: ${JSON.stringify(o.announcement).slice(0, 100)}…`;
  const lines = [
    '',
    'Trip exported and checked',
    `  trip       ${trip.id}  (device "${o.device.name}", unit ${o.device.unitId})`,
    `  started    ${trip.start_time_utc}`,
    `  ended      ${end}  (${formatDuration(secondsBetween(trip.start_time_utc, end))})`,
    `  distance   ${trip.distance_km.toFixed(2)} km`,
    `  records    ${n(o.uploaded)} uploaded in ${o.batches} batches; ${n(checked.records)} in the file, in @ts order, as uploaded`,
    `  file       ${o.file}  (${n(checked.bytes)} bytes)`,
    `  sha-256    ${checked.sha256}`,
    `  announced  ${announced}`,
    '',
    `Next steps with the demo customer's API token${o.email ? ` (${o.email})` : ''}:`,
    ...(o.ownService ? ['  (the demo has stopped its own service: run `npm start` first; the customer and the trip stay in the database)'] : []),
    `  export TOKEN=${o.token}`,
    `  curl -s ${o.baseUrl}/tasks/ ${auth}`,
    `  curl -s -o ${trip.id}.json.gz ${o.baseUrl}/tasks/${o.taskId}/result/ ${auth}`,
    `  curl -s -X POST ${o.baseUrl}/tasks/${o.taskId}/clear_result/ ${auth}`,
    `  gunzip -c ${trip.id}.json.gz | head -3`,
    '',
    'Hear about every finished export (save as watch.mjs in the project folder, run: TOKEN=... node watch.mjs):',
    "  import { createClient } from 'graphql-ws';",
    "  import WebSocket from 'ws';",
    `  const client = createClient({ url: '${o.baseUrl.replace(/^http/, 'ws')}/graphql', webSocketImpl: WebSocket,`,
    "    connectionParams: { authorization: 'APIToken ' + process.env.TOKEN } });",
    `  client.subscribe({ query: ${quote(o.subscription ?? FALLBACK_DOCUMENT)},`,
    `      variables: { deviceId: '${o.device.id}' } },`,
    '    { next: (m) => console.log(JSON.stringify(m.data)), error: console.error, complete: () => {} });',
  ];
  return lines.join('\n');
}
