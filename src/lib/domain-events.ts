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
 * A handler runs inside the transaction that ended the trip, so what it writes commits or
 * rolls back with the trip. It may return a callback to run after the commit (for example
 * to wake a job runner).
 */
export type TripEndHandler = (tx: Queryable, event: TripEndEvent) => Promise<(() => void) | void>;

/** In-process, transactional domain events. */
export class DomainEvents {
  private readonly tripEndHandlers: TripEndHandler[] = [];

  onTripEnd(handler: TripEndHandler): void {
    this.tripEndHandlers.push(handler);
  }

  /** Runs every handler in `tx`; returns the after-commit callbacks they asked for. */
  async emitTripEnd(tx: Queryable, event: TripEndEvent): Promise<(() => void)[]> {
    const after: (() => void)[] = [];
    for (const handler of this.tripEndHandlers) {
      const callback = await handler(tx, event);
      if (callback) after.push(callback);
    }
    return after;
  }
}
