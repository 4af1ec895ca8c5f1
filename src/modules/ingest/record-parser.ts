/**
 * Turns an upload body into validated records. A batch is accepted whole or not at all, so
 * this collects the first problems to name them in the 400 answer.
 */
import { gunzipSync } from 'node:zlib';
import { AppError, invalidInput } from '../../lib/errors.js';
import { isoToMicros } from '../../lib/time.js';

export interface ParsedRecord {
  readonly data: Record<string, unknown>;
  readonly at: bigint;
  readonly ts: string;
  readonly type: string;
  readonly tag?: string;
}

export interface BadRecord {
  readonly index: number;
  readonly error: string;
}

/** How many bad records a 400 answer names. */
const MAX_REPORTED = 10;

export function decodeBody(raw: Buffer, contentEncoding: string | undefined, maxBytes: number): string {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  let bytes = raw;
  const gzipped = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  if (encoding === 'gzip' || encoding === 'x-gzip' || (encoding === 'identity' && gzipped)) {
    try {
      bytes = gunzipSync(raw, { maxOutputLength: maxBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
        throw new AppError('PAYLOAD_TOO_LARGE', `Upload exceeds ${maxBytes} bytes once decompressed`);
      }
      throw invalidInput('Body is not valid gzip');
    }
  } else if (encoding !== 'identity') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding}" is not supported; use gzip or none`);
  }
  return bytes.toString('utf8');
}

/** A JSON array of records, or JSON Lines (one object per line, blank lines ignored). */
function parseJson(text: string): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown[];
    } catch (error) {
      throw invalidInput(`Body is not valid JSON: ${(error as Error).message}`);
    }
  }
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      throw invalidInput(`Line ${i + 1} is not valid JSON`, { bad_records: [{ index: out.length, line: i + 1, error: 'not valid JSON' }] });
    }
  }
  return out;
}

function check(value: unknown): ParsedRecord | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'record must be a JSON object';
  const rec = value as Record<string, unknown>;
  const type = rec['@t'];
  if (typeof type !== 'string' || !type.trim()) return '"@t" must be a non-empty string';
  const ts = rec['@ts'];
  if (typeof ts !== 'string') return '"@ts" must be an ISO-8601 string';
  const at = isoToMicros(ts);
  if (at === undefined) return `"@ts" is not a valid ISO-8601 time: ${JSON.stringify(ts).slice(0, 60)}`;
  const tag = rec['@tag'];
  if (type.startsWith('event.')) {
    if (typeof tag !== 'string' || !tag.trim()) return 'events ("@t" starting with "event.") need a string "@tag"';
    return { data: rec, at, ts, type, tag };
  }
  return { data: rec, at, ts, type };
}

/** Parses and validates a whole batch; throws INVALID_INPUT naming the first bad records. */
export function parseRecords(text: string, maxRecords: number): ParsedRecord[] {
  const items = parseJson(text);
  if (!Array.isArray(items)) throw invalidInput('Body must be a JSON array of records or JSON Lines');
  if (items.length === 0) throw invalidInput('Batch is empty');
  if (items.length > maxRecords) throw new AppError('PAYLOAD_TOO_LARGE', `Batch has ${items.length} records; at most ${maxRecords} are accepted`);
  const records: ParsedRecord[] = [];
  const bad: BadRecord[] = [];
  let badCount = 0;
  items.forEach((item, index) => {
    const result = check(item);
    if (typeof result === 'string') {
      badCount += 1;
      if (bad.length < MAX_REPORTED) bad.push({ index, error: result });
    } else records.push(result);
  });
  if (badCount > 0) {
    const first = bad[0]!;
    throw invalidInput(`${badCount} of ${items.length} records are invalid (record ${first.index}: ${first.error}); nothing was stored`, {
      bad_records: bad,
    });
  }
  return records;
}
