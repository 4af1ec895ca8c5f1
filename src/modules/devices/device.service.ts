import type { EntityManager } from '@mikro-orm/postgresql';

import type { Queryable } from '../../lib/domain-events.js';
import { AppError, invalidInput, notFound, unauthenticated } from '../../lib/errors.js';
import { isUuid } from '../../lib/ids.js';
import type { Principal } from '../../lib/principal.js';
import { newToken, sha256Hex } from '../../lib/secrets.js';
import { Device } from './device.entity.js';
import { Template } from './template.entity.js';
import { effectiveSettings, type PartialTripSettings, type TripSettings, validateSettings } from './trip-settings.js';

const SETTING_KEYS = ['autoExport', 'reopenLimitSeconds', 'activeTripMaxAgeSeconds', 'startTags', 'endTags', 'finalEndTags'] as const;

/** A device that proved its upload token: who the uploaded records belong to. */
export interface UploadingDevice {
  readonly id: string;
  readonly unitId: string;
  readonly vehicleId: number;
}

/** Keeps only the known keys that are set, so a layer never stores nulls or extras. */
function cleanSettings(input: PartialTripSettings): PartialTripSettings {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const value = input[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  const problems = validateSettings(out);
  if (problems.length) throw invalidInput(problems.join('; '), { problems });
  return out;
}

export class DeviceService {
  async createDevice(em: EntityManager, principal: Principal, input: { unitId: string; name: string; vehicleId: number }): Promise<{ device: Device; uploadToken: string }> {
    const unitId = input.unitId.trim().toLowerCase();
    if (!isUuid(unitId)) throw invalidInput('unitId must be a uuid');
    if (!input.name.trim()) throw invalidInput('name must not be empty');
    if (!Number.isInteger(input.vehicleId) || input.vehicleId < 0) throw invalidInput('vehicleId must be a non-negative integer');
    if (await em.count(Device, { unitId })) throw new AppError('CONFLICT', `a device with unit id ${unitId} already exists`);
    const uploadToken = newToken('dev');
    const device = em.create(Device, {
      customer: principal.customerId,
      unitId,
      name: input.name.trim(),
      vehicleId: input.vehicleId,
      uploadTokenHash: sha256Hex(uploadToken),
    });
    await em.flush();
    return { device, uploadToken };
  }

  listDevices(em: EntityManager, principal: Principal): Promise<Device[]> {
    return em.find(Device, { customer: principal.customerId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** The caller's device; another customer's id answers NOT_FOUND like an unknown one. */
  async getDevice(em: EntityManager, principal: Principal, id: string): Promise<Device> {
    const device = isUuid(id) ? await em.findOne(Device, { id, customer: principal.customerId }) : null;
    if (!device) throw notFound('Device');
    return device;
  }

  async updateSettings(em: EntityManager, principal: Principal, deviceId: string, settings: PartialTripSettings): Promise<Device> {
    const device = await this.getDevice(em, principal, deviceId);
    device.settings = { ...device.settings, ...cleanSettings(settings) };
    await em.flush();
    return device;
  }

  async effectiveSettingsOf(em: EntityManager, device: Device): Promise<TripSettings> {
    const template = device.template ? await em.findOne(Template, { id: device.template.id }) : null;
    return effectiveSettings(template?.settings, device.settings);
  }

  async createTemplate(em: EntityManager, principal: Principal, name: string, settings: PartialTripSettings): Promise<Template> {
    if (!name.trim()) throw invalidInput('name must not be empty');
    if (await em.count(Template, { customer: principal.customerId, name: name.trim() })) {
      throw new AppError('CONFLICT', `a template named "${name.trim()}" already exists`);
    }
    const template = em.create(Template, { customer: principal.customerId, name: name.trim(), settings: cleanSettings(settings) });
    await em.flush();
    return template;
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
