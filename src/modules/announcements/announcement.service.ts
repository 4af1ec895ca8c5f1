import type { EntityManager } from '@mikro-orm/postgresql';

import type { Config } from '../../config/config.js';
import { notFound } from '../../lib/errors.js';
import { ownedByIds, requireOwned } from '../../lib/ownership.js';
import { type ConnectionShape, pageSize, toConnection } from '../../lib/pagination.js';
import type { Principal } from '../../lib/principal.js';
import { SharedLoads } from '../../lib/shared-loads.js';
import { Device } from '../devices/device.entity.js';
import { Trip } from '../trips/trip.entity.js';
import { type AnnouncementPubSub, TRIP_EXPORT_FINISHED, type TripExportFinishedMessage } from './announcement-topics.js';
import { announce, messageOfSignal } from './rendered-announcement.js';
import { cursorExpired, openSignalStream, positionOf, readStream } from './signal-stream.js';
import type { TripExportFinishedEvent } from './trip-export-finished.types.js';

/** How long one event is shared between its subscribers. */
const SHARED_EVENT_MS = 5_000;

/** Live announcements for subscribers: only ever the subscriber's own customer's. */
export class AnnouncementService {
  /**
   * One event reaches every subscriber of the customer at once: build it once for all of them.
   * Loading its trip and device per subscriber made a thousand subscribers wait seconds; signing
   * a download link and building the object per subscriber was most of what remained.
   */
  private readonly shared = new SharedLoads<TripExportFinishedEvent>(SHARED_EVENT_MS);

  constructor(
    private readonly config: Config,
    private readonly pubSub: AnnouncementPubSub,
    /** An EntityManager of its own for each event and each replay read: a subscription outlives its operation. */
    private readonly forkEm: () => EntityManager,
  ) {}

  /**
   * The caller's announcements, optionally of one of its devices (another customer's device:
   * NOT_FOUND): with `after`, first those after that cursor, then live ones.
   */
  async subscribe(em: EntityManager, principal: Principal, deviceId?: string | null, after?: string | null): Promise<AsyncIterable<TripExportFinishedMessage>> {
    if (deviceId) await requireOwned(em, Device, principal, deviceId, 'Device');
    return openSignalStream(this.forkEm, this.config.announcementReplayDays, {
      customerId: principal.customerId,
      name: 'trip_export_finished',
      // The topic and the replay are per customer: another customer's events never reach this iterator.
      live: this.pubSub.subscribe(TRIP_EXPORT_FINISHED, principal.customerId),
      toMessage: messageOfSignal,
      after: after ?? null,
      accept: deviceId ? (m) => m.deviceId === deviceId : undefined,
    });
  }

  /**
   * The same events as `subscribe`, a page at a time, for clients that poll: oldest first, after
   * `after` (or from the oldest still kept). An empty page has no endCursor: keep the one you have.
   */
  async page(em: EntityManager, principal: Principal, first?: number | null, after?: string | null): Promise<ConnectionShape<TripExportFinishedEvent>> {
    const size = pageSize(first);
    const from = after ? positionOf(after, 'trip_export_finished') : 0;
    const { items, prunedThrough } = await readStream(em, principal.customerId, 'trip_export_finished', from, size + 1);
    if (after && from < prunedThrough) throw cursorExpired(this.config.announcementReplayDays);
    const messages = items.map(messageOfSignal);
    const [trips, devices] = await Promise.all([
      ownedByIds(em, Trip, principal.customerId, [...new Set(messages.map((m) => m.tripId))]),
      ownedByIds(em, Device, principal.customerId, [...new Set(messages.map((m) => m.deviceId))]),
    ]);
    // A trip or device deleted since is left out, as a subscriber would not get it either.
    const events = messages.flatMap((m) => {
      const trip = trips.get(m.tripId);
      const device = devices.get(m.deviceId);
      return trip && device ? [this.toEvent(m, trip, device)] : [];
    });
    const [remaining] = await em.execute<{ n: string }[]>('select count(*)::text as n from signals where customer_id = ? and name = ? and position > ?', [
      principal.customerId,
      'trip_export_finished',
      from,
    ]);
    return toConnection(events, size, Number(remaining?.n ?? 0), (e) => e.cursor);
  }

  /**
   * The event as a subscriber sees it, with the trip and device as they are now, loaded by the
   * first subscriber of an event for everyone.
   */
  async eventFor(principal: Principal, message: TripExportFinishedMessage): Promise<TripExportFinishedEvent> {
    if (message.customerId !== principal.customerId) throw notFound('Announcement');
    return this.shared.get(`${message.customerId}/${message.eventId}`, () => this.build(this.forkEm(), message));
  }

  private async build(em: EntityManager, message: TripExportFinishedMessage): Promise<TripExportFinishedEvent> {
    const [trip, device] = await Promise.all([
      em.findOne(Trip, { id: message.tripId, customer: message.customerId }),
      em.findOne(Device, { id: message.deviceId, customer: message.customerId }),
    ]);
    if (!trip || !device) throw notFound(trip ? 'Device' : 'Trip');
    return this.toEvent(message, trip, device);
  }

  private toEvent(message: TripExportFinishedMessage, trip: Trip, device: Device): TripExportFinishedEvent {
    const a = announce(this.config, message);
    return {
      eventId: a.eventId,
      cursor: message.cursor,
      reason: a.reason,
      revision: a.revision,
      occurredAt: a.occurredAt,
      task: { id: String(a.task.id), state: a.task.state, createdAt: a.task.created_at },
      trip,
      device,
      result: {
        bytes: a.result.bytes,
        sha256: a.result.sha256,
        records: a.result.records,
        firstTs: a.result.first_ts,
        lastTs: a.result.last_ts,
        downloadUrl: a.result.download_url,
      },
    };
  }
}
