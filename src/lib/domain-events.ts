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

/** Raised when a customer deletes a device, before its row goes (its trips and tasks cascade with it). */
export interface DeviceDeletedEvent {
  readonly deviceId: string;
  readonly customerId: string;
}

/**
 * A handler runs inside the transaction that raised the event, so what it writes commits or
 * rolls back with it. It may return a callback to run after the commit (for example to wake a
 * job runner, or to remove files, which cannot roll back).
 */
export type DomainEventHandler<E, C = () => void> = (tx: Queryable, event: E) => Promise<C | void>;
export type TripEndHandler = DomainEventHandler<TripEndEvent>;
export type TripsChangedHandler = DomainEventHandler<TripsChangedEvent>;
/** Runs in the transaction that deletes the device, which holds its row locked (no upload of it runs meanwhile). */
export type DeviceDeletedHandler = DomainEventHandler<DeviceDeletedEvent, () => Promise<void> | void>;

/** Runs the handlers one after another in `tx` (they share its connection); collects their after-commit callbacks. */
async function emit<E, C>(handlers: readonly DomainEventHandler<E, C>[], tx: Queryable, event: E): Promise<C[]> {
  const after: C[] = [];
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
  private readonly deviceDeletedHandlers: DeviceDeletedHandler[] = [];

  onTripEnd(handler: TripEndHandler): void {
    this.tripEndHandlers.push(handler);
  }

  onTripsChanged(handler: TripsChangedHandler): void {
    this.tripsChangedHandlers.push(handler);
  }

  /** Each feature removes what it keeps of the device that no foreign key removes. */
  onDeviceDeleted(handler: DeviceDeletedHandler): void {
    this.deviceDeletedHandlers.push(handler);
  }

  emitTripEnd(tx: Queryable, event: TripEndEvent): Promise<(() => void)[]> {
    return emit(this.tripEndHandlers, tx, event);
  }

  emitTripsChanged(tx: Queryable, event: TripsChangedEvent): Promise<(() => void)[]> {
    return emit(this.tripsChangedHandlers, tx, event);
  }

  emitDeviceDeleted(tx: Queryable, event: DeviceDeletedEvent): Promise<(() => Promise<void> | void)[]> {
    return emit(this.deviceDeletedHandlers, tx, event);
  }
}
