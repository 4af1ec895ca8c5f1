import type { EntityManager } from '@mikro-orm/postgresql';

import type { Config } from '../../config/config.js';
import { invalidInput, notFound } from '../../lib/errors.js';
import { requireOwned } from '../../lib/ownership.js';
import type { Principal } from '../../lib/principal.js';
import { SharedLoads } from '../../lib/shared-loads.js';
import { tagMatcher, tagPatternProblem } from '../../lib/tag-pattern.js';
import { Device } from '../devices/device.entity.js';
import { type AnnouncementPubSub, DEVICE_EVENT, type DeviceEventMessage } from './announcement-topics.js';
import type { DeviceEvent } from './device-event.types.js';
import { deviceEventMessageOf } from './device-event-render.js';
import { openSignalStream } from './signal-stream.js';

/** How long one event's device is shared between its subscribers. */
const SHARED_DEVICE_MS = 5_000;

export interface DeviceEventFilter {
  readonly deviceId?: string | null;
  /** A tag or a glob over tags, the syntax of EVENT triggers (`vehicle/battery/*`). */
  readonly tag?: string | null;
  /** A DeviceEvent's cursor: first the events after it, then live ones. */
  readonly after?: string | null;
}

/** Live device events for subscribers: only ever the subscriber's own customer's. */
export class DeviceEventService {
  /** Per event: every subscriber of the customer gets it at once, one query loads the device for all. */
  private readonly devices = new SharedLoads<Device>(SHARED_DEVICE_MS);

  /** @param forkEm an EntityManager of its own per event: a subscription outlives its operation. */
  constructor(
    private readonly config: Config,
    private readonly pubSub: AnnouncementPubSub,
    private readonly forkEm: () => EntityManager,
  ) {}

  /** Another customer's device answers NOT_FOUND; a tag pattern that cannot run, INVALID_INPUT. */
  async subscribe(em: EntityManager, principal: Principal, wanted: DeviceEventFilter): Promise<AsyncIterable<DeviceEventMessage>> {
    const { deviceId, tag, after } = wanted;
    const problem = tag ? tagPatternProblem(tag, 'glob') : undefined;
    if (problem) throw invalidInput(`tag "${tag}" ${problem}`);
    if (deviceId) await requireOwned(em, Device, principal, deviceId, 'Device');
    const matches = tag ? tagMatcher(tag, 'glob') : undefined;
    return openSignalStream(this.forkEm, this.config.announcementReplayDays, {
      customerId: principal.customerId,
      name: 'device_event',
      // The topic and the replay are per customer: another customer's events never reach this iterator.
      live: this.pubSub.subscribe(DEVICE_EVENT, principal.customerId),
      toMessage: deviceEventMessageOf,
      after: after ?? null,
      accept: (m) => (!deviceId || m.deviceId === deviceId) && (!matches || matches(m.payload.tag)),
    });
  }

  async eventFor(principal: Principal, message: DeviceEventMessage): Promise<DeviceEvent> {
    if (message.customerId !== principal.customerId) throw notFound('Announcement');
    const { payload } = message;
    return {
      eventId: message.eventId,
      cursor: message.cursor,
      occurredAt: message.occurredAt,
      tag: payload.tag,
      at: payload.at,
      record: JSON.stringify(payload.record),
      device: await this.deviceOf(message),
    };
  }

  private deviceOf(message: DeviceEventMessage): Promise<Device> {
    return this.devices.get(message.eventId, () =>
      this.forkEm()
        .findOne(Device, { id: message.deviceId, customer: message.customerId })
        .then((device) => device ?? Promise.reject(notFound('Device'))),
    );
  }
}
