import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { loadConfig } from '../../src/config/config.js';
import { DeliveryChannels } from '../../src/modules/announcements/delivery-channels.js';
import { claimDueDeliveries, completeAttempt } from '../../src/modules/announcements/delivery-queue.js';
import { fanOutSignals } from '../../src/modules/announcements/fan-out.js';
import { AnnouncementTriggerDeliveries } from '../../src/modules/announcements/trigger-deliveries.js';
import { TriggerType } from '../../src/modules/triggers/trigger.entity.js';
import { TriggerService } from '../../src/modules/triggers/trigger.service.js';
import { WebhookSecrets } from '../../src/modules/triggers/webhook-secrets.js';
import { createDevice } from '../factories/accounts.js';
import { writeSignal } from '../factories/signals.js';
import { createFleet, type Fleet } from '../support/notify-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';

/**
 * The database alone guarantees "once": these tests run fan-out and claims from many
 * EntityManagers at the same time, each of which could be another instance.
 */
describe('fan-out and claims under concurrency', () => {
  let db: TestDatabase;
  let acme: Fleet;
  const config = loadConfig({ LOG_LEVEL: 'silent', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', JWT_SECRET: 'test-secret-test-secret-test-secret-0123' });
  const secrets = new WebhookSecrets(config.jwtSecret);
  const triggers = new TriggerService(config, secrets, new AnnouncementTriggerDeliveries(config, new DeliveryChannels(config, secrets)));
  const webhook = (extra: Parameters<TriggerService['create']>[2] = {}) =>
    triggers.create(db.orm.em.fork(), acme.customer.principal, {
      description: 'w',
      type: TriggerType.SIGNAL,
      signal: 'trip_export_finished',
      webhook: { url: 'http://127.0.0.1:9/hook' },
      ...extra,
    });
  const count = async (sql: string, params: unknown[] = []): Promise<number> => Number((await db.pool.query<{ n: string }>(sql, params)).rows[0]?.n);

  before(async () => {
    db = await createTestDatabase();
    acme = await createFleet(db.orm, config, 'Acme');
  });
  after(() => db.drop());

  it('fans every signal out once, one delivery per trigger and action, however many run at once', async () => {
    const a = await webhook({ email: { recipients: ['a@fleet.test'] } });
    const b = await webhook();
    const signals = await Promise.all(Array.from({ length: 40 }, () => writeSignal(db.orm, acme.customer, acme.device, acme.trip)));

    const results = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const seen: string[] = [];
        for (;;) {
          const { messages } = await fanOutSignals(db.orm.em.fork(), 5);
          if (messages.length === 0) return seen;
          seen.push(...messages.map((m) => m.eventId));
        }
      }),
    );
    const published = results.flat();
    assert.equal(published.length, 40, 'each signal handed out for publishing exactly once');
    assert.deepEqual([...published].sort(), signals.map((s) => s.id).sort());
    assert.ok(results.filter((r) => r.length > 0).length > 1, 'the work was actually shared');

    assert.equal(await count('SELECT count(*) AS n FROM deliveries WHERE trigger_id = $1', [a.trigger.id]), 80, 'webhook and e-mail of trigger a');
    assert.equal(await count('SELECT count(*) AS n FROM deliveries WHERE trigger_id = $1', [b.trigger.id]), 40);
    assert.equal(await count('SELECT count(*) AS n FROM (SELECT 1 FROM deliveries GROUP BY signal_id, trigger_id, channel HAVING count(*) > 1) d'), 0);
    assert.equal(await count('SELECT count(*) AS n FROM signals WHERE fanned_out_at IS NULL'), 0);
  });

  it('claims each due delivery for one claimant per attempt, and ignores a claimant that lost its lease', async () => {
    await db.pool.query("UPDATE deliveries SET state = 'pending', next_attempt_at = now() - interval '1 second'");
    const total = await count('SELECT count(*) AS n FROM deliveries');
    const claims = (await Promise.all(Array.from({ length: 8 }, () => claimDueDeliveries(db.orm.em.fork(), 50, 60)))).flat();
    assert.equal(claims.length, total);
    assert.equal(new Set(claims.map((c) => c.delivery.id)).size, total, 'no delivery claimed twice');
    assert.ok(claims.every((c) => c.attempt === 1));
    assert.equal((await claimDueDeliveries(db.orm.em.fork(), 50, 60)).length, 0, 'claimed rows are out of reach while leased');

    // One claimant "dies": its lease runs out and someone else takes the delivery over.
    const stale = claims[0]!;
    await db.pool.query("UPDATE deliveries SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [stale.delivery.id]);
    const [takeover, ...none] = await claimDueDeliveries(db.orm.em.fork(), 50, 60);
    assert.equal(none.length, 0);
    assert.equal(takeover?.delivery.id, stale.delivery.id);
    assert.equal(takeover?.attempt, 2);
    const outcome = { startedAt: new Date().toISOString(), durationMs: 1, succeeded: true, statusCode: 200 };
    await completeAttempt(db.orm.em.fork(), stale, outcome, [1]);
    const { rows } = await db.pool.query<{ state: string }>('SELECT state FROM deliveries WHERE id = $1', [stale.delivery.id]);
    assert.equal(rows[0]?.state, 'sending', 'the late result of the lost claim changes nothing');
    assert.equal(await completeAttempt(db.orm.em.fork(), takeover, outcome, [1]), 'delivered');
    assert.equal(await count('SELECT count(*) AS n FROM delivery_attempts WHERE delivery_id = $1', [stale.delivery.id]), 2, 'both attempts are on record');
  });

  it('honours the minimum interval, the device filter and disabled triggers', async () => {
    await db.pool.query('DELETE FROM triggers');
    const other = await createDevice(db.orm, acme.customer);
    const spaced = await webhook({ minIntervalSeconds: 3600 });
    const onlyOther = await webhook({ deviceId: other.id });
    const disabled = await webhook({ enabled: false });
    await writeSignal(db.orm, acme.customer, acme.device, acme.trip);
    await writeSignal(db.orm, acme.customer, acme.device, acme.trip);
    await writeSignal(db.orm, acme.customer, other, acme.trip);
    while ((await fanOutSignals(db.orm.em.fork())).messages.length > 0);

    const perTrigger = async (id: string) => count('SELECT count(*) AS n FROM deliveries WHERE trigger_id = $1', [id]);
    assert.equal(await perTrigger(spaced.trigger.id), 1, 'the second firing within the hour is skipped');
    assert.equal(await perTrigger(onlyOther.trigger.id), 1, "only the other device's signal");
    assert.equal(await perTrigger(disabled.trigger.id), 0);
    const fired = await db.pool.query<{ id: string; last_triggered_at: string | null }>('SELECT id, last_triggered_at FROM triggers');
    assert.deepEqual(
      fired.rows
        .filter((r) => r.last_triggered_at)
        .map((r) => r.id)
        .sort(),
      [spaced.trigger.id, onlyOther.trigger.id].sort(),
    );
  });
});
