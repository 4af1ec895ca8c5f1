/**
 * The bytes of an upload as they arrive, inflated when gzip, with both sizes capped while they
 * stream: a small gzip body can hold a gigabyte (a 122 KB body held one 120 MiB string), so the
 * inflated bytes count against the same limit as the sent ones and inflating stops there.
 * Inflating runs on the thread pool, chunk by chunk; nothing waits for the whole body.
 */
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip } from 'node:zlib';

import { AppError, invalidInput } from '../../lib/errors.js';

const INFLATE_CHUNK_BYTES = 64 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b];

const tooLarge = (maxBytes: number, what: string): AppError => new AppError('PAYLOAD_TOO_LARGE', `Upload exceeds ${maxBytes} bytes${what}; nothing was stored`);

/** `raw` with its total capped; the first chunk is at least 2 bytes unless the body is shorter. */
async function* capped(raw: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  let total = 0;
  let head: Buffer | undefined = Buffer.alloc(0);
  try {
    for await (const chunk of raw) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(maxBytes, '');
      if (head === undefined) {
        yield chunk;
        continue;
      }
      head = Buffer.concat([head, chunk]);
      if (head.length < GZIP_MAGIC.length) continue;
      yield head;
      head = undefined;
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    // The device went away mid-body; nobody reads the answer, the log should not call it a bug.
    throw invalidInput(`Upload was interrupted: ${(error as Error).message}`);
  }
  if (head?.length) yield head;
}

function gzipWanted(contentEncoding: string | undefined, first: Buffer | undefined): boolean {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return true;
  if (encoding !== 'identity') throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding}" is not supported; use gzip or none`);
  // Devices do not always label a gzip body.
  return first !== undefined && first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
}

/**
 * The body's bytes, inflated when gzip (labelled or recognised), at most `maxBytes` sent and at
 * most `maxBytes` inflated; throws PAYLOAD_TOO_LARGE past either, INVALID_INPUT on broken gzip.
 */
export async function* uploadBytes(raw: AsyncIterable<Buffer>, contentEncoding: string | undefined, maxBytes: number): AsyncGenerator<Buffer> {
  const sent = capped(raw, maxBytes)[Symbol.asyncIterator]();
  const first = await sent.next();
  if (!gzipWanted(contentEncoding, first.done ? undefined : first.value)) {
    if (first.done) return;
    yield first.value;
    yield* { [Symbol.asyncIterator]: () => sent };
    return;
  }
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
  async function* rest(): AsyncGenerator<Buffer> {
    if (!first.done) yield first.value;
    yield* { [Symbol.asyncIterator]: () => sent };
  }
  const feeding = pipeline(rest(), gunzip);
  // Its failure reaches the loop below through gunzip; this only keeps it from going unhandled.
  feeding.catch(() => undefined);
  let inflated = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      inflated += chunk.length;
      if (inflated > maxBytes) throw tooLarge(maxBytes, ' once decompressed');
      yield chunk;
    }
    await feeding;
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || (error as { errno?: number }).errno === constants.Z_DATA_ERROR) throw invalidInput('Body is not valid gzip');
    throw error;
  } finally {
    gunzip.destroy();
  }
}
