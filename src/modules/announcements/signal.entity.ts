import { ArrayType, BigIntType, Entity, Index, ManyToOne, type Opt, Property, type Ref, Unique } from '@mikro-orm/core';

import { UuidEntity } from '../../db/base.entity.js';
import { IsoTimestampType } from '../../db/iso-timestamp.type.js';
import { Customer } from '../accounts/customer.entity.js';

export type SignalName = 'trip_export_finished' | 'device_event';
/**
 * `finished`: a trip's first export succeeded; `updated`: a later one did (late data, a reopened
 * trip, a manual export), its file replacing the last; `reannounce`: the daily reminder for an
 * uncleared result; `event`: a device logged a record an EVENT trigger listens to.
 */
export type SignalReason = 'finished' | 'updated' | 'reannounce' | 'event';

/** The payload every announcement channel renders from. Field names are the webhook's. */
export interface TripExportFinishedPayload {
  /** The task's result revision: 1 for the first export, 2, 3 ... for later ones. Absent in signals written before revisions (read as 1). */
  readonly revision?: number;
  readonly task: { readonly id: number; readonly state: string; readonly created_at: string };
  readonly trip: Record<string, unknown>;
  readonly device: { readonly id: string; readonly unit_id: string; readonly vehicle_id: number; readonly name: string };
  readonly result: {
    readonly bytes: number;
    readonly sha256: string;
    readonly records: number;
    readonly first_ts: string | null;
    readonly last_ts: string | null;
  };
}

/** What a `device_event` signal carries: the record as stored and the device that logged it. */
export interface DeviceEventPayload {
  readonly tag: string;
  /** The record's `@ts`. */
  readonly at: string;
  readonly record: Record<string, unknown>;
  readonly device: TripExportFinishedPayload['device'];
}

/**
 * The outbox: a signal is written in the same transaction as the change it announces
 * (an export turning SUCCESS), then fanned out to subscribers, webhooks and e-mail.
 */
@Entity({ tableName: 'signals' })
@Index({ properties: ['fannedOutAt', 'createdAt'] })
@Unique({ properties: ['customer', 'name', 'position'] })
export class Signal extends UuidEntity {
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade' })
  customer!: Ref<Customer>;

  @Property({ type: 'text' })
  name!: SignalName;

  @Property({ type: 'text' })
  reason!: SignalReason;

  @Property({ type: 'uuid' })
  deviceId!: string;

  /** None for a device event. */
  @Property({ type: 'uuid', nullable: true })
  tripId?: string | null;

  /** None for a device event. */
  // Nullable bigint columns load as JS bigint unless told: keep the id a string like elsewhere.
  @Property({ type: new BigIntType('string'), nullable: true })
  taskId?: string | null;

  /** A `trip_export_finished` payload, or a {@link DeviceEventPayload} for `device_event`. */
  @Property({ type: 'jsonb' })
  payload!: TripExportFinishedPayload;

  /**
   * The EVENT triggers a `device_event` fired, decided in the upload's transaction (device
   * filter and minimum interval included): it fans out to these and no others.
   */
  @Property({ type: ArrayType, columnType: 'uuid[]', nullable: true })
  triggerIds?: string[] | null;

  /** Set once deliveries have been created for every matching trigger. */
  @Property({ type: IsoTimestampType, nullable: true })
  fannedOutAt?: Opt<string> | null;

  /**
   * Place in the customer's stream of this signal name (1, 2, 3 ... without gaps), given at
   * fan-out, when the signal becomes visible to subscribers: the order of positions is the
   * order of commits, so a replay from a cursor never misses one (see `signal-stream.ts`).
   */
  @Property({ type: new BigIntType('number'), nullable: true })
  position?: Opt<number> | null;
}

/**
 * The counter behind {@link Signal.position}, one row per customer and signal name. Its row
 * lock serialises the fan-outs of one stream; it also remembers how far retention has deleted,
 * so a cursor from before a deletion is refused rather than silently skipping what was deleted.
 */
@Entity({ tableName: 'signal_streams' })
export class SignalStream {
  @ManyToOne(() => Customer, { ref: true, deleteRule: 'cascade', primary: true })
  customer!: Ref<Customer>;

  @Property({ type: 'text', primary: true })
  name!: SignalName;

  @Property({ type: new BigIntType('number'), default: 0 })
  lastPosition: Opt<number> = 0;

  /** Every position up to this one may have been deleted by retention. */
  @Property({ type: new BigIntType('number'), default: 0 })
  prunedThrough: Opt<number> = 0;
}
