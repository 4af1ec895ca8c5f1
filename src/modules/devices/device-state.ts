import type { Queryable } from '../../lib/domain-events.js';

/**
 * The `@ts` of the newest engine event applied to the device's trips. Trip detection calls this
 * inside the upload transaction, which holds the device row locked.
 */
export async function recordNewestEvent(q: Queryable, deviceId: string, at: string): Promise<void> {
  await q.query('UPDATE devices SET last_event_ts = $2 WHERE id = $1', [deviceId, at]);
}
