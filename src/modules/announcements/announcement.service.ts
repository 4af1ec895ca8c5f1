import { filter, pipe } from '@graphql-yoga/subscription';
import type { EntityManager } from '@mikro-orm/postgresql';

import type { Config } from '../../config/config.js';
import { notFound } from '../../lib/errors.js';
import { requireOwned } from '../../lib/ownership.js';
import type { Principal } from '../../lib/principal.js';
import { Device } from '../devices/device.entity.js';
import { Trip } from '../trips/trip.entity.js';
import { type AnnouncementPubSub, TRIP_EXPORT_FINISHED, type TripExportFinishedMessage } from './announcement-topics.js';
import { announce } from './rendered-announcement.js';
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
  private readonly shared = new Map<string, Promise<TripExportFinishedEvent>>();

  /**
   * @param forkEm an EntityManager of its own for each event: a subscription outlives the
   *   operation that started it.
   */
  constructor(
    private readonly config: Config,
    private readonly pubSub: AnnouncementPubSub,
    private readonly forkEm: () => EntityManager,
  ) {}

  /** The caller's announcements, optionally of one of its devices (another customer's device: NOT_FOUND). */
  async subscribe(em: EntityManager, principal: Principal, deviceId?: string | null): Promise<AsyncIterable<TripExportFinishedMessage>> {
    if (deviceId) await requireOwned(em, Device, principal, deviceId, 'Device');
    // The topic is per customer: another customer's events never reach this iterator.
    const events = this.pubSub.subscribe(TRIP_EXPORT_FINISHED, principal.customerId);
    return deviceId
      ? pipe(
          events,
          filter((m: TripExportFinishedMessage) => m.deviceId === deviceId),
        )
      : events;
  }

  /**
   * The event as a subscriber sees it, with the trip and device as they are now, loaded by the
   * first subscriber of an event for everyone.
   */
  async eventFor(principal: Principal, message: TripExportFinishedMessage): Promise<TripExportFinishedEvent> {
    if (message.customerId !== principal.customerId) throw notFound('Announcement');
    const key = `${message.customerId}/${message.eventId}`;
    let pending = this.shared.get(key);
    if (!pending) {
      pending = this.build(this.forkEm(), message);
      this.shared.set(key, pending);
      setTimeout(() => this.shared.delete(key), SHARED_EVENT_MS).unref();
      pending.catch(() => this.shared.delete(key));
    }
    return pending;
  }

  private async build(em: EntityManager, message: TripExportFinishedMessage): Promise<TripExportFinishedEvent> {
    const [trip, device] = await Promise.all([
      em.findOne(Trip, { id: message.tripId, customer: message.customerId }),
      em.findOne(Device, { id: message.deviceId, customer: message.customerId }),
    ]);
    if (!trip || !device) throw notFound(trip ? 'Device' : 'Trip');
    const a = announce(this.config, message);
    return {
      eventId: a.eventId,
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
