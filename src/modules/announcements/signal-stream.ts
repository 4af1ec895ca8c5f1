/**
 * A customer's signals of one name as an ordered, resumable stream. Positions are handed out at
 * fan-out under the stream's row lock (see {@link assignPositions}), so they are gapless and
 * commit in order: whoever has read position n has seen every position before it, and a replay
 * `position > n` misses nothing that commits later. (A sequence value taken at insert would not
 * commit in order: a replay could pass over a row that commits afterwards with a smaller value.)
 */
import type { EntityManager } from '@mikro-orm/postgresql';

import type { Queryable } from '../../lib/domain-events.js';
import { AppError, invalidInput } from '../../lib/errors.js';
import { decodeCursor, encodeCursor } from '../../lib/pagination.js';
import { openResumable, type Positioned, type ReplayPage } from '../../notify/resumable-stream.js';
import { Signal, type SignalName } from './signal.entity.js';

/** Bumped if the cursor ever has to say more; older cursors are then refused, not misread. */
const CURSOR_VERSION = 1;

export const cursorOf = (name: SignalName, position: number): string => encodeCursor([CURSOR_VERSION, name, position]);

/** The position a cursor of stream `name` stands for; INVALID_INPUT for anything else (another stream's cursor too). */
export function positionOf(cursor: string, name: SignalName): number {
  if (cursor.length > 200) throw invalidInput('after is not a valid cursor; pass the cursor of an event');
  return decodeCursor(cursor, ([version, stream, position]) =>
    version === CURSOR_VERSION && stream === name && Number.isSafeInteger(position) && (position as number) >= 0 ? (position as number) : undefined,
  );
}

export function cursorExpired(replayDays: number): AppError {
  return new AppError(
    'CURSOR_EXPIRED',
    `This cursor is older than the ${replayDays}-day replay window (ANNOUNCEMENT_REPLAY_DAYS): announcements after it have been deleted. Start again without after.`,
  );
}

/**
 * Gives each signal its place in its stream, in the order given. Called in the fan-out
 * transaction, which holds the streams' rows locked until it commits: a later fan-out of the
 * same stream waits, takes the next positions and commits after. Streams are locked in key
 * order, so two fan-outs cannot deadlock over them.
 */
export async function assignPositions(tx: EntityManager, signals: readonly Signal[]): Promise<void> {
  const byStream = new Map<string, Signal[]>();
  for (const signal of signals) {
    const key = `${signal.customer.id}/${signal.name}`;
    byStream.set(key, [...(byStream.get(key) ?? []), signal]);
  }
  for (const key of [...byStream.keys()].sort()) {
    const members = byStream.get(key)!;
    const rows = await tx.execute<{ last_position: string }[]>(
      `insert into signal_streams (customer_id, name, last_position) values (?, ?, ?)
       on conflict (customer_id, name) do update set last_position = signal_streams.last_position + excluded.last_position
       returning last_position`,
      [members[0]!.customer.id, members[0]!.name, members.length],
    );
    const last = Number(rows[0]!.last_position);
    members.forEach((signal, i) => (signal.position = last - members.length + 1 + i));
  }
}

/** The newest position of a stream: where a subscriber without a cursor starts. */
export async function streamHead(em: EntityManager, customerId: string, name: SignalName): Promise<number> {
  const rows = await em.execute<{ last_position: string }[]>('select last_position from signal_streams where customer_id = ? and name = ?', [customerId, name]);
  return Number(rows[0]?.last_position ?? 0);
}

export interface SignalSubscription<M extends Positioned> {
  readonly customerId: string;
  readonly name: SignalName;
  /** The customer's live topic of this signal name. */
  readonly live: AsyncIterable<M>;
  /** What a stored signal is published as (the same shape the live topic carries). */
  readonly toMessage: (signal: Signal) => M;
  /** The client's cursor; null: live from now on. */
  readonly after: string | null;
  readonly accept?: (message: M) => boolean;
}

/**
 * A subscription to one of the customer's signal streams that resumes from a cursor: whatever
 * signal name, the replay reads `signals`, the live side listens on the name's topic. A fresh
 * EntityManager per read: a subscription lives for hours.
 */
export function openSignalStream<M extends Positioned>(em: () => EntityManager, replayDays: number, sub: SignalSubscription<M>): Promise<AsyncIterableIterator<M>> {
  const after = sub.after === null ? null : positionOf(sub.after, sub.name);
  return openResumable(
    {
      live: sub.live,
      head: () => streamHead(em(), sub.customerId, sub.name),
      readAfter: async (position, limit) => {
        const page = await readStream(em(), sub.customerId, sub.name, position, limit);
        return { items: page.items.map(sub.toMessage), prunedThrough: page.prunedThrough };
      },
      expired: () => cursorExpired(replayDays),
      accept: sub.accept,
    },
    after,
  );
}

/**
 * Up to `limit` signals of the stream after `position`, ascending, and how far retention has
 * deleted: one statement, so both come from one snapshot and a deletion cannot slip between them.
 */
export async function readStream(em: EntityManager, customerId: string, name: SignalName, position: number, limit: number): Promise<ReplayPage<Signal>> {
  const rows = await em.execute<(Record<string, unknown> & { stream_pruned_through: string | null })[]>(
    `select s.*, (select pruned_through from signal_streams where customer_id = ? and name = ?) as stream_pruned_through
     from (select 1) one left join lateral (
       select * from signals where customer_id = ? and name = ? and position > ? order by position limit ?
     ) s on true`,
    [customerId, name, customerId, name, position, limit],
  );
  const prunedThrough = Number(rows[0]?.stream_pruned_through ?? 0);
  const items = rows.filter((row) => row.id !== null).map((row) => em.map(Signal, row));
  return { items, prunedThrough };
}

/**
 * Deletes signals fanned out more than `replayDays` ago and records, per stream, the newest
 * position deleted, so a cursor from before it is refused. Signals with a webhook or e-mail
 * still being retried are kept (their deliveries would go with them).
 */
export async function pruneSignals(q: Queryable, replayDays: number): Promise<number> {
  const { rows } = await q.query<{ deleted: string }>(
    `with gone as (
       delete from signals s
       where s.fanned_out_at < now() - make_interval(days => $1)
         and not exists (select 1 from deliveries d where d.signal_id = s.id and d.state in ('pending', 'sending'))
       returning s.customer_id, s.name, s.position
     ), marks as (
       update signal_streams p set pruned_through = greatest(p.pruned_through, g.newest)
       from (select customer_id, name, max(position) as newest from gone where position is not null group by 1, 2) g
       where p.customer_id = g.customer_id and p.name = g.name
     )
     select count(*)::text as deleted from gone`,
    [replayDays],
  );
  return Number(rows[0]?.deleted ?? 0);
}
