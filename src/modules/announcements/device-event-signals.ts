import { randomUUID } from 'node:crypto';

import type { Queryable } from '../../lib/domain-events.js';
import { type TagMatcher, tagMatcher } from '../../lib/tag-pattern.js';
import { microsToIso } from '../../lib/time.js';

/** A record of an upload that may fire EVENT triggers: its time is trusted and it has a tag. */
export interface TaggedRecord {
  readonly at: bigint;
  readonly ts: string;
  readonly tag?: string;
  readonly data: Record<string, unknown>;
}

/** The uploading device, as the announcement names it. */
export interface EventDevice {
  readonly id: string;
  readonly customerId: string;
  readonly unitId: string;
  readonly vehicleId: number;
  readonly name: string;
}

/** One enabled EVENT trigger, compiled. */
interface EventRule {
  readonly triggerId: string;
  readonly deviceId: string | null;
  readonly intervalMicros: bigint;
  readonly matches: TagMatcher;
}

/** Distinct tags remembered per customer; a fleet logs a few dozen, a runaway device cannot grow this. */
const MAX_TAGS = 4_096;

/** A customer's enabled EVENT triggers, compiled, as they were at `version`. */
class CustomerRules {
  /** Which rules each tag matches: tags repeat in every batch, so each is matched once. */
  private readonly byTag = new Map<string, readonly EventRule[]>();

  constructor(
    readonly version: string,
    readonly rules: readonly EventRule[],
  ) {}

  matching(tag: string): readonly EventRule[] {
    let hit = this.byTag.get(tag);
    if (!hit) {
      hit = this.rules.filter((rule) => rule.matches(tag));
      if (this.byTag.size >= MAX_TAGS) this.byTag.clear();
      this.byTag.set(tag, hit);
    }
    return hit;
  }
}

/**
 * The version of a customer's triggers as an SQL expression over `customerColumn`, for the
 * upload's first statement: a trigger row changed by any instance (or by hand) bumps it
 * (a database trigger, see Migration20261130021000), so a cached compile is never trusted
 * past a change, at the cost of one index lookup the upload makes anyway.
 */
export const triggerVersionSql = (customerColumn: string): string => `coalesce((SELECT version FROM event_trigger_versions WHERE customer_id = ${customerColumn}), 0)::text`;

/**
 * Turns uploaded records into `device_event` signals, inside the upload's transaction: a
 * refused batch rolls them back with it, and a duplicate batch never gets here. Matching is
 * compiled once per customer and version; a customer without EVENT triggers costs one map
 * lookup per batch, one with them a map lookup per tagged record.
 *
 * `minIntervalSeconds` counts per trigger and device, in the records' own time: one chatty
 * vehicle must not silence the same warning from the rest of the fleet, the device's row lock
 * (held by the upload) already orders its batches so no other lock is needed, and a backlog
 * uploaded after hours offline fires as it would have online. A record older than the last
 * firing of its trigger and device does not fire it again (unless the interval is 0).
 */
export class DeviceEventSignals {
  private readonly customers = new Map<string, CustomerRules>();

  /** Writes the signals for `records`; answers how many. `version` comes from {@link triggerVersionSql}. */
  async fire(tx: Queryable, device: EventDevice, version: string, records: readonly TaggedRecord[], storedLine: (data: Record<string, unknown>) => string): Promise<number> {
    const rules = await this.rulesOf(tx, device.customerId, version);
    if (rules.rules.length === 0) return 0;
    const candidates: { record: TaggedRecord; rules: EventRule[] }[] = [];
    for (const record of records) {
      if (record.tag === undefined) continue;
      const matched = rules.matching(record.tag);
      if (matched.length === 0) continue;
      const mine = matched.filter((rule) => rule.deviceId === null || rule.deviceId === device.id);
      if (mine.length > 0) candidates.push({ record, rules: mine });
    }
    if (candidates.length === 0) return 0;

    const last = await this.lastFirings(tx, device.id, [...new Set(candidates.flatMap((c) => c.rules.map((r) => r.triggerId)))]);
    const fired = new Map<string, bigint>();
    const deviceJson = JSON.stringify({ id: device.id, unit_id: device.unitId, vehicle_id: device.vehicleId, name: device.name });
    const rows: string[] = [];
    // Oldest first, so the interval keeps the earliest record of each run.
    candidates.sort((a, b) => (a.record.at < b.record.at ? -1 : a.record.at > b.record.at ? 1 : 0));
    for (const { record, rules: matched } of candidates) {
      const firing = matched.filter((rule) => {
        const previous = fired.get(rule.triggerId) ?? last.get(rule.triggerId);
        return rule.intervalMicros === 0n || previous === undefined || record.at >= previous + rule.intervalMicros;
      });
      if (firing.length === 0) continue;
      for (const rule of firing) {
        const previous = fired.get(rule.triggerId) ?? last.get(rule.triggerId);
        fired.set(rule.triggerId, previous === undefined || record.at > previous ? record.at : previous);
      }
      const payload = `{"tag":${JSON.stringify(record.tag)},"at":${JSON.stringify(record.ts)},"device":${deviceJson},"record":${storedLine(record.data)}}`;
      rows.push(`{"id":"${randomUUID()}","trigger_ids":${JSON.stringify(firing.map((r) => r.triggerId))},"payload":${payload}}`);
    }
    if (rows.length === 0) return 0;
    await tx.query({
      name: 'device-event-signals',
      text: `INSERT INTO signals (id, customer_id, name, reason, device_id, payload, trigger_ids)
             SELECT id, $1, 'device_event', 'event', $2, payload, trigger_ids
               FROM json_to_recordset($3::json) AS x(id uuid, payload jsonb, trigger_ids uuid[])`,
      values: [device.customerId, device.id, `[${rows.join(',')}]`],
    });
    await tx.query({
      name: 'device-event-firings',
      text: `INSERT INTO event_trigger_firings (trigger_id, device_id, last_event_at)
             SELECT trigger_id, $1, at FROM unnest($2::uuid[], $3::timestamptz[]) AS f(trigger_id, at)
             ON CONFLICT (trigger_id, device_id) DO UPDATE SET last_event_at = greatest(event_trigger_firings.last_event_at, excluded.last_event_at)`,
      values: [device.id, [...fired.keys()], [...fired.values()].map(microsToIso)],
    });
    return rows.length;
  }

  /** The compiled rules, reloaded when `version` says the triggers changed since. */
  private async rulesOf(tx: Queryable, customerId: string, version: string): Promise<CustomerRules> {
    const cached = this.customers.get(customerId);
    if (cached?.version === version) return cached;
    // The version and the rows in one statement: one snapshot, so the label is never newer than the rules.
    const { rows } = await tx.query<{ version: string; id: string | null; device_id: string | null; event_tag: string | null; min_interval_seconds: number | null }>({
      name: 'event-trigger-rules',
      text: `SELECT ${triggerVersionSql('$1::uuid')} AS version, t.id, t.device_id, t.event_tag, t.min_interval_seconds
               FROM (SELECT 1) one
               LEFT JOIN triggers t ON t.customer_id = $1 AND t.type = 'event' AND t.enabled AND t.event_tag IS NOT NULL`,
      values: [customerId],
    });
    const rules: EventRule[] = rows.flatMap((row) =>
      row.id === null
        ? []
        : [{ triggerId: row.id, deviceId: row.device_id, intervalMicros: BigInt(row.min_interval_seconds ?? 0) * 1_000_000n, matches: tagMatcher(row.event_tag!, 'glob') }],
    );
    const compiled = new CustomerRules(rows[0]?.version ?? version, rules);
    this.customers.set(customerId, compiled);
    return compiled;
  }

  /** Record time (microseconds) of the last firing of each trigger for the device. */
  private async lastFirings(tx: Queryable, deviceId: string, triggerIds: string[]): Promise<Map<string, bigint>> {
    const { rows } = await tx.query<{ trigger_id: string; last_at: string }>({
      name: 'device-event-last-firings',
      text: `SELECT trigger_id, (extract(epoch from last_event_at) * 1000000)::bigint AS last_at
               FROM event_trigger_firings WHERE device_id = $1 AND trigger_id = ANY($2::uuid[])`,
      values: [deviceId, triggerIds],
    });
    return new Map(rows.map((row) => [row.trigger_id, BigInt(row.last_at)]));
  }
}
