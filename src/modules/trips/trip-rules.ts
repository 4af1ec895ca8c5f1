/**
 * The trip rules of product-facts.md as a pure function: given the device's latest trip and
 * a batch of events in `@ts` order, say which trips start, end and reopen. No I/O except the
 * one question the rules ask of stored data ("when was the last data point before t?").
 */
import { type TagMatcher, tagMatcher } from '../../lib/tag-pattern.js';
import type { TripSettings } from '../devices/trip-settings.js';

export interface TripEventInput {
  /** `@ts` in microseconds since the epoch. */
  readonly at: bigint;
  readonly tag: string;
}

/** A trip as the rules see it. Times in microseconds since the epoch. */
export interface TripState {
  readonly key: string;
  startAt: bigint;
  endAt: bigint | null;
  finalEnd: boolean;
  endCount: number;
  /** Created by this batch (not yet stored). */
  readonly isNew: boolean;
}

export interface TripChanges {
  /** Every trip the batch touched (the latest one first if it existed), in order of start. */
  readonly touched: TripState[];
  /** One entry per end, in order: the trip and its end count at that end. */
  readonly ends: { readonly trip: TripState; readonly endCount: number }[];
  readonly started: TripState[];
  readonly reopened: TripState[];
  /** Every start, end and reopen in the order the events caused them, with the times as they were then. */
  readonly log: TripChange[];
}

export interface TripChange {
  readonly change: 'started' | 'ended' | 'reopened';
  readonly key: string;
  readonly startAt: bigint;
  readonly endAt: bigint | null;
}

export interface CompiledTags {
  readonly start: TagMatcher[];
  readonly end: TagMatcher[];
  readonly finalEnd: TagMatcher[];
}

/** Tags are regular expressions matched against the whole tag, in linear time (RE2). */
export function compileTags(settings: Pick<TripSettings, 'startTags' | 'endTags' | 'finalEndTags'>): CompiledTags {
  const compile = (patterns: readonly string[]): TagMatcher[] => patterns.map((p) => tagMatcher(p));
  return { start: compile(settings.startTags), end: compile(settings.endTags), finalEnd: compile(settings.finalEndTags) };
}

const matches = (patterns: TagMatcher[], tag: string): boolean => patterns.some((match) => match(tag));

export interface ApplyOptions {
  readonly settings: Pick<TripSettings, 'reopenLimitSeconds' | 'activeTripMaxAgeSeconds'>;
  readonly tags: CompiledTags;
  /** Newest data point strictly before `at` and at or after `from`; `undefined` when none. */
  readonly lastDataBefore: (from: bigint, at: bigint) => Promise<bigint | undefined>;
  readonly newKey: () => string;
}

/**
 * Applies `events` (already sorted by time, already filtered to those newer than the last
 * applied event) to `latest`, the device's most recent trip.
 */
export async function applyTripEvents(latest: TripState | null, events: readonly TripEventInput[], options: ApplyOptions): Promise<TripChanges> {
  const reopenLimit = BigInt(options.settings.reopenLimitSeconds) * 1_000_000n;
  const maxAge = BigInt(options.settings.activeTripMaxAgeSeconds) * 1_000_000n;
  const touched: TripState[] = latest ? [latest] : [];
  const ends: { trip: TripState; endCount: number }[] = [];
  const started: TripState[] = [];
  const reopened: TripState[] = [];
  const log: TripChange[] = [];
  const note = (change: TripChange['change'], trip: TripState): void => {
    log.push({ change, key: trip.key, startAt: trip.startAt, endAt: trip.endAt });
  };
  let current = latest;

  const start = (at: bigint): void => {
    current = { key: options.newKey(), startAt: at, endAt: null, finalEnd: false, endCount: 0, isNew: true };
    touched.push(current);
    started.push(current);
    note('started', current);
  };
  const end = (trip: TripState, at: bigint, final: boolean): void => {
    trip.endAt = at;
    trip.finalEnd = final;
    trip.endCount += 1;
    ends.push({ trip, endCount: trip.endCount });
    note('ended', trip);
  };

  for (const event of events) {
    const isFinal = matches(options.tags.finalEnd, event.tag);
    const isEnd = isFinal || matches(options.tags.end, event.tag);
    const isStart = !isEnd && matches(options.tags.start, event.tag);
    const trip: TripState | null = current;

    if (isStart) {
      if (!trip) {
        start(event.at);
      } else if (trip.endAt !== null) {
        if (trip.finalEnd || event.at - trip.endAt > reopenLimit) {
          start(event.at);
        } else {
          trip.endAt = null;
          trip.finalEnd = false;
          reopened.push(trip);
          note('reopened', trip);
        }
      } else if (event.at - trip.startAt > maxAge) {
        // A trip open for too long was never ended properly: close it where its data stops.
        const lastData = await options.lastDataBefore(trip.startAt, event.at);
        end(trip, lastData ?? trip.startAt, false);
        start(event.at);
      }
    } else if (isEnd && trip && trip.endAt === null && event.at >= trip.startAt) {
      end(trip, event.at, isFinal);
    }
  }
  return { touched, ends, started, reopened, log };
}
