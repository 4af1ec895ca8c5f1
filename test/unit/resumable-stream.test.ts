import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createPubSub } from '@graphql-yoga/subscription';

import { openResumable, type ResumableSource } from '../../src/notify/resumable-stream.js';

interface Message {
  readonly position: number;
  readonly device: string;
}

/** A store of committed messages and the in-process pub/sub the service uses without Redis. */
function stream(committed: number) {
  const store: Message[] = [];
  const commit = (device = 'a'): Message => {
    const message = { position: store.length + 1, device };
    store.push(message);
    return message;
  };
  for (let i = 0; i < committed; i++) commit();
  const pubSub = createPubSub<{ EVENTS: [Message] }>();
  let prunedThrough = 0;
  const source = (accept?: (m: Message) => boolean): ResumableSource<Message> => ({
    live: pubSub.subscribe('EVENTS'),
    readAfter: async (position, limit) => ({ items: store.filter((m) => m.position > position).slice(0, limit), prunedThrough }),
    head: async () => store.length,
    expired: () => new Error('expired'),
    accept,
  });
  return { store, commit, publish: (m: Message) => pubSub.publish('EVENTS', m), source, prune: (through: number) => (prunedThrough = through) };
}

async function take(iterator: AsyncIterator<Message, unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const result = await iterator.next();
    if (result.done) break;
    out.push(result.value.position);
  }
  return out;
}

describe('openResumable', () => {
  it('replays after the cursor, skips live duplicates of what it replayed, then continues live', async () => {
    const s = stream(5);
    const iterator = await openResumable(s.source(), 2);
    // Committed before the replay read, published after: a duplicate the reader must drop.
    s.publish(s.store[4]!);
    const sixth = s.commit();
    s.publish(sixth);
    assert.deepEqual(await take(iterator, 4), [3, 4, 5, 6]);
    await iterator.return!();
  });

  it('reads what the live side missed from the store when a later position arrives', async () => {
    const s = stream(0);
    const iterator = await openResumable(s.source(), null);
    s.commit(); // never published (lost in a Redis reconnect, or before the SUBSCRIBE took effect)
    s.commit();
    s.publish(s.commit());
    s.publish(s.store[1]!); // late and out of order
    s.publish(s.commit());
    assert.deepEqual(await take(iterator, 4), [1, 2, 3, 4]);
    await iterator.return!();
  });

  it('pages through a long replay before going live', async () => {
    const s = stream(250);
    const iterator = await openResumable(s.source(), 0);
    const live = s.commit();
    s.publish(live);
    const got = await take(iterator, 251);
    assert.deepEqual(
      got,
      Array.from({ length: 251 }, (_, i) => i + 1),
    );
    await iterator.return!();
  });

  it('without a cursor starts at the head: nothing older, everything newer', async () => {
    const s = stream(3);
    const iterator = await openResumable(s.source(), null);
    s.publish(s.store[2]!);
    s.publish(s.commit());
    assert.deepEqual(await take(iterator, 1), [4]);
    await iterator.return!();
  });

  it('applies the filter without losing its place', async () => {
    const s = stream(0);
    for (const device of ['a', 'b', 'a', 'b']) s.commit(device);
    const iterator = await openResumable(
      s.source((m) => m.device === 'b'),
      0,
    );
    s.publish(s.commit('a'));
    s.publish(s.commit('b'));
    assert.deepEqual(await take(iterator, 3), [2, 4, 6]);
    await iterator.return!();
  });

  it('refuses a cursor whose successors were deleted, but not one whose own message was the last deleted', async () => {
    const s = stream(5);
    s.prune(3);
    await assert.rejects(openResumable(s.source(), 2), /expired/);
    const iterator = await openResumable(s.source(), 3);
    assert.deepEqual(await take(iterator, 2), [4, 5]);
    await iterator.return!();
  });

  it('return() ends a next() that is waiting for a live message', async () => {
    const s = stream(0);
    const iterator = await openResumable(s.source(), null);
    const waiting = iterator.next();
    await iterator.return!();
    assert.deepEqual(await waiting, { value: undefined, done: true });
  });
});
