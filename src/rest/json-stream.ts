import { Readable } from 'node:stream';

/**
 * Streams `batches` as one JSON array, a batch per chunk, so a list of any length goes out
 * with memory flat. The first batch is read before the answer starts: a failure there still
 * gets its status code. A failure later ends the stream with an error, which cuts the
 * connection rather than leaving the client a truncated array that parses.
 */
export async function jsonArrayStream<T>(batches: AsyncGenerator<readonly T[]>, toJson: (item: T) => unknown): Promise<Readable> {
  const first = await batches.next();
  async function* chunks(): AsyncGenerator<string> {
    yield '[';
    let separator = '';
    for (let batch = first; !batch.done; batch = await batches.next()) {
      if (batch.value.length === 0) continue;
      yield separator + batch.value.map((item) => JSON.stringify(toJson(item))).join(',');
      separator = ',';
    }
    yield ']';
  }
  return Readable.from(chunks());
}
