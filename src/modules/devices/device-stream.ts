import { filter, pipe } from '@graphql-yoga/subscription';
import type { EntityManager } from '@mikro-orm/postgresql';

import { requireOwned } from '../../lib/ownership.js';
import type { Principal } from '../../lib/principal.js';
import { Device } from './device.entity.js';

/**
 * A live topic of the caller's customer, narrowed to one of its devices when asked. The device
 * is checked first (another customer's device: NOT_FOUND), and only then is the topic
 * subscribed, so a refused subscription leaves no listener behind.
 */
export async function deviceStream<M extends { readonly deviceId: string }>(
  em: EntityManager,
  principal: Principal,
  deviceId: string | null | undefined,
  subscribe: (customerId: string) => AsyncIterable<M>,
): Promise<AsyncIterable<M>> {
  if (deviceId) await requireOwned(em, Device, principal, deviceId, 'Device');
  const events = subscribe(principal.customerId);
  return deviceId
    ? pipe(
        events,
        filter((m: M) => m.deviceId === deviceId),
      )
    : events;
}
