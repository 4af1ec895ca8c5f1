import type pg from 'pg';

import { transaction } from '../../db/pg-transaction.js';
import type { DomainEvents } from '../../lib/domain-events.js';
import { notFound } from '../../lib/errors.js';
import { isUuid } from '../../lib/ids.js';
import type { Principal } from '../../lib/principal.js';

/**
 * Deletes a device and everything recorded for it. Other features keep rows of the device
 * that no foreign key reaches (records live in partitions without one) and files no
 * transaction can roll back, so they hear of it through {@link DomainEvents.onDeviceDeleted}
 * inside the same transaction; the rest (trips, upload batches, triggers scoped to the
 * device) goes with the device row by `on delete cascade`.
 */
export class DeviceDeletion {
  constructor(
    private readonly pool: pg.Pool,
    private readonly events: DomainEvents,
  ) {}

  /** Answers the deleted device's id; another customer's id answers NOT_FOUND like an unknown one. */
  async delete(principal: Principal, id: string): Promise<string> {
    if (!isUuid(id)) throw notFound('Device');
    const afterCommit = await transaction(this.pool, async (tx) => {
      // The lock waits for an upload of the device in progress and keeps the next one out
      // until the commit, after which its token no longer matches any device.
      const { rowCount } = await tx.query('SELECT 1 FROM devices WHERE id = $1 AND customer_id = $2 FOR UPDATE', [id, principal.customerId]);
      if (!rowCount) throw notFound('Device');
      const callbacks = await this.events.emitDeviceDeleted(tx, { deviceId: id, customerId: principal.customerId });
      await tx.query('DELETE FROM devices WHERE id = $1', [id]);
      return callbacks;
    });
    for (const callback of afterCommit) await callback();
    return id;
  }
}
