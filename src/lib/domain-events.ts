import type pg from 'pg';

/** Anything that runs SQL: a pool, or a client inside a transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** Raised every time a trip ends (its first end and every end after a reopen). */
export interface TripEndEvent {
  readonly tripId: string;
  readonly deviceId: string;
  readonly customerId: string;
  readonly endTimeUtc: string;
  /** 1 for the first end, 2 after one reopen, ... */
  readonly endCount: number;
}

/**
 * Raised when an upload adds records inside trips that had already ended before it (late
 * data): their content changed although no trip event did. Trips the same upload ended or
 * reopened are not in it; their end (or next end) is raised as a trip end.
 */
export interface TripsChangedEvent {
  readonly deviceId: string;
  readonly customerId: string;
  readonly tripIds: readonly string[];
}

/**
 * A handler runs inside the transaction that raised the event (the upload's), so what it writes
 * commits or rolls back with the trips. It may return a callback to run after the commit (for
 * example to wake a job runner).
 */
export type DomainEventHandler<E> = (tx: Queryable, event: E) => Promise<(() => void) | void>;
export type TripEndHandler = DomainEventHandler<TripEndEvent>;
export type TripsChangedHandler = DomainEventHandler<TripsChangedEvent>;

/** Runs every handler in `tx`; answers the after-commit callbacks they asked for. */
async function emit<E>(handlers: readonly DomainEventHandler<E>[], tx: Queryable, event: E): Promise<(() => void)[]> {
  const after: (() => void)[] = [];
  for (const handler of handlers) {
    const callback = await handler(tx, event);
    if (callback) after.push(callback);
  }
  return after;
}

/** In-process, transactional domain events: a lower module tells higher ones without importing them. */
export class DomainEvents {
  private readonly tripEndHandlers: TripEndHandler[] = [];
  private readonly tripsChangedHandlers: TripsChangedHandler[] = [];

  onTripEnd(handler: TripEndHandler): void {
    this.tripEndHandlers.push(handler);
  }

  onTripsChanged(handler: TripsChangedHandler): void {
    this.tripsChangedHandlers.push(handler);
  }

  emitTripEnd(tx: Queryable, event: TripEndEvent): Promise<(() => void)[]> {
    return emit(this.tripEndHandlers, tx, event);
  }

  emitTripsChanged(tx: Queryable, event: TripsChangedEvent): Promise<(() => void)[]> {
    return emit(this.tripsChangedHandlers, tx, event);
  }
}
