import type { EntityManager } from '@mikro-orm/postgresql';

import { Trigger } from './trigger.entity.js';

/*
 * What a trigger remembers of its firings and failures. The announcements feature sends for
 * triggers and reports here, inside its own transactions: only this feature writes `triggers`.
 */

/** The triggers fired at `at` (their minimum interval counts from here). */
export async function markFired(em: EntityManager, triggerIds: readonly string[], at: string): Promise<void> {
  if (triggerIds.length > 0) await em.nativeUpdate(Trigger, { id: { $in: [...triggerIds] } }, { lastTriggeredAt: at });
}

/** A delivery of the trigger failed with `error`; `disable` when its receiver said it is gone (410). */
export async function recordDeliveryError(em: EntityManager, triggerId: string, error: string, at: string, disable = false): Promise<void> {
  await em.nativeUpdate(Trigger, { id: triggerId }, { lastError: error, lastErrorAt: at, ...(disable ? { enabled: false } : {}) });
}
