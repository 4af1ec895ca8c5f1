import type { EntityManager } from '@mikro-orm/postgresql';

import type { Queryable } from '../../lib/domain-events.js';
import { AppError, invalidInput, notFound, unauthenticated } from '../../lib/errors.js';
import { isUuid } from '../../lib/ids.js';
import { columnList, leanWithRelated, type RelatedRows, withRelated } from '../../lib/lean.js';
import { type ConnectionShape, keysetConnection } from '../../lib/pagination.js';
import { readRows } from '../../lib/prepared-reads.js';
import type { Principal } from '../../lib/principal.js';
import { newToken, sha256Hex } from '../../lib/secrets.js';
import { canonicalIso } from '../../lib/time.js';
import { Device } from './device.entity.js';
import { Template } from './template.entity.js';
import { type PartialTripSettings, type TripSettingsChange, validateSettings } from './trip-settings.js';

const SETTING_KEYS = ['autoExport', 'reopenLimitSeconds', 'activeTripMaxAgeSeconds', 'startTags', 'endTags', 'finalEndTags'] as const;

/** A device that proved its upload token: who the uploaded records belong to. */
export interface UploadingDevice {
  readonly id: string;
  readonly unitId: string;
  readonly vehicleId: number;
}

/**
 * One layer changed by an input: a key given a value is set, a key given null is removed
 * (the layer below applies again), a key left out stays as it was.
 */
function mergeSettings(layer: PartialTripSettings, input: TripSettingsChange): PartialTripSettings {
  const merged: Record<string, unknown> = { ...layer, ...cleanSettings(input) };
  for (const key of SETTING_KEYS) if (input[key] === null) delete merged[key];
  return merged;
}

/** Keeps only the known keys that are set, so a layer never stores nulls or extras. */
function cleanSettings(input: TripSettingsChange): PartialTripSettings {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const value = input[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  const problems = validateSettings(out);
  if (problems.length) throw invalidInput(problems.join('; '), { problems });
  return out;
}

function nonEmptyName(name: string): string {
  if (!name.trim()) throw invalidInput('name must not be empty');
  return name.trim();
}

/**
 * When the device row aliased `device` last had an upload accepted, as SQL text (null when
 * never, or when retention removed its batches): the newest entry of the device's range of
 * `(device_id, received_at)`.
 */
export function lastSeenOf(device: string): string {
  return `(SELECT max(b.received_at)::text FROM ingest_batches b WHERE b.device_id = ${device}.id)`;
}

/** {@link lastSeenOf}'s text in the service's canonical form. */
export function lastSeenValue(text: unknown): string | null {
  return typeof text === 'string' ? (canonicalIso(text) ?? text) : null;
}

export class DeviceService {
  async createDevice(em: EntityManager, principal: Principal, input: { unitId: string; name: string; vehicleId: number }): Promise<{ device: Device; uploadToken: string }> {
    const unitId = input.unitId.trim().toLowerCase();
    if (!isUuid(unitId)) throw invalidInput('unitId must be a uuid');
    const name = nonEmptyName(input.name);
    if (!Number.isInteger(input.vehicleId) || input.vehicleId < 0) throw invalidInput('vehicleId must be a non-negative integer');
    if (await em.count(Device, { unitId })) throw new AppError('CONFLICT', `a device with unit id ${unitId} already exists`);
    const uploadToken = newToken('dev');
    const device = em.create(Device, {
      customer: principal.customerId,
      unitId,
      name,
      vehicleId: input.vehicleId,
      uploadTokenHash: sha256Hex(uploadToken),
    });
    await em.flush();
    return { device, uploadToken };
  }

  /** Oldest first; lean objects (lib/lean.ts), for reading, with the rows `related` reads. */
  async listDevices(em: EntityManager, principal: Principal, columns?: readonly string[], related?: RelatedRows): Promise<Device[]> {
    const select = withRelated('d', columnList('d', columns), related);
    const rows = await readRows(em, `SELECT ${select.columns} FROM devices d ${select.join} WHERE d.customer_id = ? ORDER BY d.created_at, d.id`, [principal.customerId]);
    return leanWithRelated(em, Device, rows, related);
  }

  /** The caller's device; another customer's id answers NOT_FOUND like an unknown one. */
  async getDevice(em: EntityManager, principal: Principal, id: string): Promise<Device> {
    const device = isUuid(id) ? await em.findOne(Device, { id, customer: principal.customerId }) : null;
    if (!device) throw notFound('Device');
    return device;
  }

  async updateSettings(em: EntityManager, principal: Principal, deviceId: string, settings: TripSettingsChange): Promise<Device> {
    const device = await this.getDevice(em, principal, deviceId);
    device.settings = mergeSettings(device.settings, settings);
    await em.flush();
    return device;
  }

  async renameDevice(em: EntityManager, principal: Principal, id: string, name: string): Promise<Device> {
    const device = await this.getDevice(em, principal, id);
    device.name = nonEmptyName(name);
    await em.flush();
    return device;
  }

  /**
   * A new upload token, answered this once. Only its hash is stored and uploads look the hash
   * up on every batch, so the old token stops working with the commit.
   */
  async rotateUploadToken(em: EntityManager, principal: Principal, id: string): Promise<{ device: Device; uploadToken: string }> {
    const device = await this.getDevice(em, principal, id);
    const uploadToken = newToken('dev');
    device.uploadTokenHash = sha256Hex(uploadToken);
    await em.flush();
    return { device, uploadToken };
  }

  /** The caller's devices, a page at a time, oldest first (as `listDevices`). */
  deviceConnection(em: EntityManager, principal: Principal, first?: number | null, after?: string | null): Promise<ConnectionShape<Device>> {
    return keysetConnection(em, Device, { customer: principal.customerId }, { key: 'createdAt', direction: 'asc' }, first, after);
  }

  /**
   * When each device's newest accepted upload arrived, keyed by device id; a device that never
   * uploaded (or whose batches retention removed) is absent. Read from ingest's batch log, which
   * every stored upload writes, so nothing more is written per upload.
   */
  async lastSeen(em: EntityManager, customerId: string, deviceIds: readonly string[]): Promise<Map<string, string>> {
    const ids = deviceIds.filter(isUuid);
    if (!ids.length) return new Map();
    const rows = await readRows<{ id: string; at: string | null }>(em, `SELECT d.id, ${lastSeenOf('d')} AS at FROM devices d WHERE d.customer_id = ? AND d.id = ANY(?)`, [
      customerId,
      ids,
    ]);
    return new Map(rows.flatMap((row) => (row.at === null ? [] : [[row.id, lastSeenValue(row.at)!]])));
  }

  async createTemplate(em: EntityManager, principal: Principal, name: string, settings: TripSettingsChange): Promise<Template> {
    const template = em.create(Template, { customer: principal.customerId, name: await this.freeTemplateName(em, principal, name), settings: cleanSettings(settings) });
    await em.flush();
    return template;
  }

  /** Renames and changes settings like `updateSettings` does for a device: null clears a value. */
  async updateTemplate(em: EntityManager, principal: Principal, id: string, input: { name?: string | null; settings?: TripSettingsChange | null }): Promise<Template> {
    const template = await this.getTemplate(em, principal, id);
    if (input.name !== undefined && input.name !== null && input.name.trim() !== template.name) template.name = await this.freeTemplateName(em, principal, input.name);
    if (input.settings) template.settings = mergeSettings(template.settings, input.settings);
    await em.flush();
    return template;
  }

  /** Its devices keep their own overrides over the defaults (`on delete set null`). Answers its id. */
  async deleteTemplate(em: EntityManager, principal: Principal, id: string): Promise<string> {
    const template = await this.getTemplate(em, principal, id);
    await em.nativeDelete(Template, { id: template.id, customer: principal.customerId });
    return template.id;
  }

  /** The customer's templates, a page at a time, by name (as `listTemplates`). */
  templateConnection(em: EntityManager, principal: Principal, first?: number | null, after?: string | null): Promise<ConnectionShape<Template>> {
    return keysetConnection(em, Template, { customer: principal.customerId }, { key: 'name', direction: 'asc' }, first, after);
  }

  private async freeTemplateName(em: EntityManager, principal: Principal, name: string): Promise<string> {
    const wanted = nonEmptyName(name);
    if (await em.count(Template, { customer: principal.customerId, name: wanted })) throw new AppError('CONFLICT', `a template named "${wanted}" already exists`);
    return wanted;
  }

  listTemplates(em: EntityManager, principal: Principal): Promise<Template[]> {
    return em.find(Template, { customer: principal.customerId }, { orderBy: { name: 'asc' } });
  }

  async getTemplate(em: EntityManager, principal: Principal, id: string): Promise<Template> {
    const template = isUuid(id) ? await em.findOne(Template, { id, customer: principal.customerId }) : null;
    if (!template) throw notFound('Template');
    return template;
  }

  /** Links the devices to the template; all or nothing when one device is not the caller's. */
  async applyTemplate(em: EntityManager, principal: Principal, templateId: string, deviceIds: string[]): Promise<Device[]> {
    const template = await this.getTemplate(em, principal, templateId);
    const ids = [...new Set(deviceIds)];
    const devices = ids.every(isUuid) ? await em.find(Device, { id: { $in: ids }, customer: principal.customerId }) : [];
    if (devices.length !== ids.length) throw notFound('Device');
    for (const device of devices) device.template = em.getReference(Template, template.id, { wrapped: true });
    await em.flush();
    return devices;
  }

  /**
   * Resolves a device upload credential (`token <t>` or `Bearer <t>`). When the device also
   * sends a `unit-id` header it must match. Runs once per upload batch, so it is one plain
   * query on the pool rather than an ORM load (see bench/results.md for what the ORM cost).
   */
  async authenticateDevice(db: Queryable, header: string | undefined, unitIdHeader: string | undefined): Promise<UploadingDevice> {
    const [scheme = '', token = ''] = (header ?? '').trim().split(/\s+/, 2);
    if (!['token', 'bearer'].includes(scheme.toLowerCase()) || !token) {
      throw unauthenticated('Device token missing; send "Authorization: token <device token>"');
    }
    const { rows } = await db.query<{ id: string; unit_id: string; vehicle_id: number }>({
      name: 'device-by-upload-token',
      text: 'SELECT id, unit_id, vehicle_id FROM devices WHERE upload_token_hash = $1',
      values: [sha256Hex(token)],
    });
    const device = rows[0];
    if (!device) throw unauthenticated('Invalid device token');
    if (unitIdHeader && unitIdHeader.trim().toLowerCase() !== device.unit_id) {
      throw unauthenticated('unit-id header does not match the device token');
    }
    return { id: device.id, unitId: device.unit_id, vehicleId: device.vehicle_id };
  }
}
