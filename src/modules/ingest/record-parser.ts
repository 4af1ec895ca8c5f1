/**
 * Turns an upload body into validated records. A batch is accepted whole or not at all, so
 * this collects the first problems to name them in the 400 answer.
 */
import { invalidInput } from '../../lib/errors.js';
import { sha256Hex } from '../../lib/secrets.js';
import { isoToMicros } from '../../lib/time.js';
import { RecordScanner, type ScanLimits } from './record-scanner.js';
import { uploadBytes } from './upload-body.js';

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

/** What one upload may hold; see the Configuration table of the README. */
export interface UploadLimits extends ScanLimits {
  /** Bytes sent, and bytes once inflated. */
  readonly maxBytes: number;
}

export interface ParsedUpload {
  readonly records: ParsedRecord[];
  /** SHA-256 of the (inflated) body: the same batch sent again has the same one. */
  readonly sha256: string;
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

/**
 * Reads an upload as it streams (JSON array or JSON Lines, maybe gzip) into validated records.
 * Throws PAYLOAD_TOO_LARGE or INVALID_INPUT naming the limit passed while the bytes arrive, then
 * INVALID_INPUT naming the first bad records.
 */
export async function parseUpload(raw: AsyncIterable<Buffer>, contentEncoding: string | undefined, limits: UploadLimits): Promise<ParsedUpload> {
  const scanner = new RecordScanner(limits);
  const chunks: Buffer[] = [];
  for await (const chunk of uploadBytes(raw, contentEncoding, limits.maxBytes)) {
    scanner.push(chunk);
    chunks.push(chunk);
  }
  scanner.end();
  const text = Buffer.concat(chunks).toString('utf8');
  const items = parseJson(text);
  if (items.length === 0) throw invalidInput('Batch is empty');
  const records: ParsedRecord[] = [];
  const bad: BadRecord[] = [];
  let badCount = 0;
  items.forEach((item, index) => {
    const result = check(item);
    if (typeof result !== 'string') records.push(result);
    else if (++badCount <= MAX_REPORTED) bad.push({ index, error: result });
  });
  if (badCount > 0) {
    const first = bad[0]!;
    throw invalidInput(`${badCount} of ${items.length} records are invalid (record ${first.index}: ${first.error}); nothing was stored`, {
      bad_records: bad,
    });
  }
  // Of the text, as before streaming: a batch stored then and sent again now is still recognised.
  return { records, sha256: sha256Hex(text) };
}
