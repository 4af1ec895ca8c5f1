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

/** Raised when a customer deletes a device, before its row goes (its trips and tasks cascade with it). */
export interface DeviceDeletedEvent {
  readonly deviceId: string;
  readonly customerId: string;
}

/**
 * Runs inside the transaction that deletes the device, which holds the device row locked (no
 * upload of it runs meanwhile): each feature removes what it keeps of the device that no
 * foreign key removes, and may return a callback for what cannot roll back (files).
 */
export type DeviceDeletedHandler = (tx: Queryable, event: DeviceDeletedEvent) => Promise<(() => Promise<void> | void) | void>;

/** Runs the handlers one after another in `tx` (they share its connection); collects their after-commit callbacks. */
async function runAll<E, C>(handlers: readonly ((tx: Queryable, event: E) => Promise<C | void>)[], tx: Queryable, event: E): Promise<C[]> {
  const after: C[] = [];
  for (const handler of handlers) {
    const callback = await handler(tx, event);
    if (callback) after.push(callback);
  }
  return after;
}

/** In-process, transactional domain events. */
export class DomainEvents {
  private readonly tripEndHandlers: TripEndHandler[] = [];
  private readonly deviceDeletedHandlers: DeviceDeletedHandler[] = [];

  onDeviceDeleted(handler: DeviceDeletedHandler): void {
    this.deviceDeletedHandlers.push(handler);
  }

  /** Runs every handler in `tx`; returns the after-commit callbacks they asked for. */
  emitDeviceDeleted(tx: Queryable, event: DeviceDeletedEvent): Promise<(() => Promise<void> | void)[]> {
    return runAll(this.deviceDeletedHandlers, tx, event);
  }

  onTripEnd(handler: TripEndHandler): void {
    this.tripEndHandlers.push(handler);
  }

  /** Runs every handler in `tx`; returns the after-commit callbacks they asked for. */
  emitTripEnd(tx: Queryable, event: TripEndEvent): Promise<(() => void)[]> {
    return runAll(this.tripEndHandlers, tx, event);
  }
}
