import { promisify } from 'node:util';
import { constants, deflateRaw } from 'node:zlib';

import { type DeflatePiece, GZIP_HEADER, GzipTotals } from '../ingest/segment-codec.js';

const deflateRawAsync = promisify(deflateRaw);

/** Back-references reach 32 KiB: each block is primed with that much of the one before. */
const WINDOW = 32 * 1024;
/** Input bytes per block unless told otherwise. */
export const GZIP_BLOCK_BYTES = 1 << 20;

export interface ParallelGzipOptions {
  readonly level: number;
  /**
   * Input bytes per block (default {@link GZIP_BLOCK_BYTES}). A source whose chunks are
   * exactly this long is compressed without a copy.
   */
  readonly blockSize?: number;
  /**
   * Blocks in flight on the libuv thread pool (default 3). More than the cores: while the
   * oldest block is awaited, the next ones keep compressing and COPY keeps flowing. Three
   * balanced time against peak memory best (bench/results.md, "Measurements behind the code").
   */
  readonly parallel?: number;
}

const isPiece = (item: Buffer | DeflatePiece): item is DeflatePiece => !Buffer.isBuffer(item);

/**
 * gzip as pigz writes it: ONE gzip member (RFC 1952), whose deflate stream is compressed in
 * blocks on several threads at once. Each block is raw-deflated with the previous block's last
 * 32 KiB as its dictionary and ends with a sync flush (byte-aligned, not final), so the blocks
 * concatenate into a single valid deflate stream; the last block finishes it. The CRC-32 of the
 * input is kept on the main thread. Any gunzip reads the result, including readers that stop
 * after the first member. Memory is bounded by `parallel + 1` blocks plus their output.
 *
 * The source may also hand over pieces already deflated (stored record segments, which end
 * byte-aligned): the text before one is flushed as a block of its own, the piece's bytes go
 * out as they are and its CRC-32 is combined into the member's, not recomputed.
 */
export async function* parallelGzip(source: AsyncIterable<Buffer | DeflatePiece>, options: ParallelGzipOptions): AsyncGenerator<Buffer> {
  const blockSize = options.blockSize ?? GZIP_BLOCK_BYTES;
  const parallel = Math.max(1, options.parallel ?? 3);
  const pending: Promise<Buffer>[] = [];
  const totals = new GzipTotals();
  let dictionary: Buffer | undefined;
  let parts: Buffer[] = [];
  let held = 0;

  const compress = (block: Buffer, last: boolean): Promise<Buffer> => {
    totals.addRaw(block);
    const done = deflateRawAsync(block, {
      level: options.level,
      ...(dictionary ? { dictionary } : {}),
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    });
    // Awaited in order later; until then a failure must not count as unhandled.
    done.catch(() => undefined);
    // A copy: a view would keep the whole previous block alive.
    dictionary = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW)));
    return done;
  };

  yield GZIP_HEADER;
  for await (const item of source) {
    if (isPiece(item)) {
      if (held > 0) pending.push(compress(Buffer.concat(parts, held), false));
      parts = [];
      held = 0;
      totals.addPiece(item);
      pending.push(Promise.resolve(item.data));
      // Text after the piece cannot refer back into it: its text is not at hand.
      dictionary = undefined;
    } else {
      parts.push(item);
      held += item.length;
      if (held < blockSize) continue;
      // Blocks of exactly `blockSize`: the output depends on the input bytes only, not on how
      // they were chunked, so an unchanged trip exports to the same file and SHA-256.
      const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
      let at = 0;
      for (; all.length - at >= blockSize; at += blockSize) pending.push(compress(all.subarray(at, at + blockSize), false));
      parts = at < all.length ? [all.subarray(at)] : [];
      held = all.length - at;
    }
    while (pending.length >= parallel) yield await pending.shift()!;
  }
  // The rest, finished: an empty rest deflates to just the final block.
  pending.push(compress(Buffer.concat(parts, held), true));
  for (const block of pending) yield await block;
  yield totals.trailer();
}
