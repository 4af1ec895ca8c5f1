/** A message with its place in a gapless stream (1, 2, 3 ...) whose positions commit in order. */
export interface Positioned {
  readonly position: number;
}

/** Stored messages after some position, with how far the store has deleted (every position up to `prunedThrough`). */
export interface ReplayPage<M> {
  readonly items: readonly M[];
  readonly prunedThrough: number;
}

export interface ResumableSource<M extends Positioned> {
  /**
   * The live messages of the stream, published after their commit. They may arrive late, twice
   * or not at all (Redis pub/sub is at most once): the store is the truth, live only says "more".
   */
  readonly live: AsyncIterable<M>;
  /** Committed messages after `position`, ascending, at most `limit`. */
  readAfter(position: number, limit: number): Promise<ReplayPage<M>>;
  /** The newest committed position: where a reader without a cursor starts. */
  head(): Promise<number>;
  /** The error for a cursor whose successors have been deleted. */
  expired(): Error;
  /** Messages the reader wants (a device filter); the others still advance the position. */
  readonly accept?: (message: M) => boolean;
}

const PAGE = 100;
/** Live messages held while the store is read; past this they are dropped and read from the store instead. */
const MAX_BUFFERED = 1000;

/**
 * Replays a stream from a position, then continues live, without a gap or a duplicate at the
 * switch. The live subscription starts before the store is read, so nothing falls between the
 * two; a live message at or below the last emitted position is a duplicate and skipped; one
 * beyond the next position means something was missed (published before this instance's Redis
 * SUBSCRIBE took effect, or lost in a reconnect), and the missing ones are read from the store,
 * which has them: positions commit in order. Throws the source's `expired()` before emitting
 * anything when the cursor's successors have been deleted.
 */
export async function openResumable<M extends Positioned>(source: ResumableSource<M>, after: number | null): Promise<AsyncIterableIterator<M>> {
  const stream = new ResumableStream(source);
  try {
    await stream.start(after);
  } catch (error) {
    await stream.return();
    throw error;
  }
  return stream;
}

class ResumableStream<M extends Positioned> implements AsyncIterableIterator<M> {
  private readonly live: AsyncIterator<M, unknown>;
  private buffered: M[] = [];
  private overflowed = false;
  private ready: M[] = [];
  /** The last page from the store was full: there is more to read before going live. */
  private behind = false;
  private last = 0;
  private stopped = false;
  private wake: () => void = () => undefined;

  constructor(private readonly source: ResumableSource<M>) {
    this.live = source.live[Symbol.asyncIterator]();
    // Pulling once attaches the listener: from here on nothing published is lost to this reader.
    void this.pump();
  }

  async start(after: number | null): Promise<void> {
    this.last = after ?? (await this.source.head());
    if (after !== null) await this.catchUp();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<M> {
    return this;
  }

  async next(): Promise<IteratorResult<M>> {
    try {
      return await this.advance();
    } catch (error) {
      // A rejected next() ends a for-await without calling return(): let go of the live side here.
      await this.return();
      throw error;
    }
  }

  private async advance(): Promise<IteratorResult<M>> {
    while (!this.stopped) {
      const ready = this.ready.shift();
      if (ready) return { value: ready, done: false };
      if (this.behind || this.overflowed) {
        this.overflowed = false;
        this.buffered = [];
        await this.catchUp();
        continue;
      }
      const message = this.buffered.shift();
      if (!message) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if (message.position <= this.last) continue;
      if (message.position === this.last + 1) this.take([message]);
      else await this.catchUp();
    }
    return { value: undefined, done: true };
  }

  /** Ends the stream at once, also while `next` waits for a message. */
  async return(): Promise<IteratorResult<M>> {
    this.stopped = true;
    this.wake();
    await this.live.return?.();
    return { value: undefined, done: true };
  }

  private async catchUp(): Promise<void> {
    const page = await this.source.readAfter(this.last, PAGE);
    if (this.last < page.prunedThrough) throw this.source.expired();
    this.behind = page.items.length === PAGE;
    this.take(page.items);
  }

  private take(messages: readonly M[]): void {
    for (const message of messages) {
      if (message.position <= this.last) continue;
      this.last = message.position;
      if (!this.source.accept || this.source.accept(message)) this.ready.push(message);
    }
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const result: IteratorResult<M, unknown> = await this.live.next();
        if (result.done || this.stopped) break;
        if (this.buffered.length >= MAX_BUFFERED) {
          this.buffered = [];
          this.overflowed = true;
        } else this.buffered.push(result.value);
        this.wake();
      }
    } catch {
      // The live side failed: end the stream; the client resumes from its last cursor.
    }
    this.stopped = true;
    this.wake();
  }
}
