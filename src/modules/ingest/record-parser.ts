/**
 * Turns an upload body into validated records. A batch is accepted whole or not at all, so
 * this collects the first problems to name them in the 400 answer.
 */
import { createHash } from 'node:crypto';
import { invalidInput } from '../../lib/errors.js';
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

/**
 * Reads an upload as it streams (JSON array or JSON Lines, maybe gzip) into validated records.
 * Throws INVALID_INPUT naming the first bad records, PAYLOAD_TOO_LARGE naming the limit passed.
 */
export async function parseUpload(raw: AsyncIterable<Buffer>, contentEncoding: string | undefined, limits: UploadLimits): Promise<ParsedUpload> {
  const records: ParsedRecord[] = [];
  const bad: BadRecord[] = [];
  let badCount = 0;
  const scanner = new RecordScanner(limits, ({ text, index, line }) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      if (line === undefined) throw invalidInput(`Body is not valid JSON: record ${index}: ${(error as Error).message}`);
      throw invalidInput(`Line ${line} is not valid JSON`, { bad_records: [{ index, line, error: 'not valid JSON' }] });
    }
    const result = check(value);
    if (typeof result !== 'string') records.push(result);
    else if (++badCount <= MAX_REPORTED) bad.push({ index, error: result });
  });
  const hash = createHash('sha256');
  for await (const chunk of uploadBytes(raw, contentEncoding, limits.maxBytes)) {
    hash.update(chunk);
    scanner.push(chunk);
  }
  const total = scanner.end();
  if (total === 0) throw invalidInput('Batch is empty');
  if (badCount > 0) {
    const first = bad[0]!;
    throw invalidInput(`${badCount} of ${total} records are invalid (record ${first.index}: ${first.error}); nothing was stored`, {
      bad_records: bad,
    });
  }
  return { records, sha256: hash.digest('hex') };
}
