import { randomUUID } from 'node:crypto';

import type { MikroORM } from '@mikro-orm/postgresql';

import type { Config } from '../../src/config/config.js';
import type { Principal } from '../../src/lib/principal.js';
import { AuthService } from '../../src/modules/accounts/auth.service.js';
import { DeviceService } from '../../src/modules/devices/device.service.js';

export interface TestCustomer {
  readonly customerId: string;
  readonly userId: string;
  readonly email: string;
  readonly password: string;
  readonly apiToken: string;
  readonly principal: Principal;
}

/** A customer with one user and an API token, created through the real service. */
export async function createCustomer(orm: MikroORM, config: Config, name = 'Acme'): Promise<TestCustomer> {
  const email = `${randomUUID()}@example.test`;
  const password = 'correct horse battery';
  const created = await new AuthService(config).createCustomer(orm.em.fork(), { name, email, password });
  return {
    customerId: created.customer.id,
    userId: created.user.id,
    email,
    password,
    apiToken: created.token,
    principal: { customerId: created.customer.id, userId: created.user.id, via: 'api_token' },
  };
}

export interface TestDevice {
  readonly id: string;
  readonly unitId: string;
  readonly vehicleId: number;
  readonly uploadToken: string;
}

export async function createDevice(orm: MikroORM, customer: TestCustomer, settings: Parameters<DeviceService['updateSettings']>[3] = {}): Promise<TestDevice> {
  const service = new DeviceService();
  const em = orm.em.fork();
  const vehicleId = Math.floor(Math.random() * 1_000_000);
  const { device, uploadToken } = await service.createDevice(em, customer.principal, { unitId: randomUUID(), name: 'Van', vehicleId });
  if (Object.keys(settings).length) await service.updateSettings(em, customer.principal, device.id, settings);
  return { id: device.id, unitId: device.unitId, vehicleId, uploadToken };
}
