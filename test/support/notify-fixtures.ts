/** Shared set-up of the announcement tests: a customer with a device and a finished trip. */
import type { MikroORM } from '@mikro-orm/postgresql';

import type { Config } from '../../src/config/config.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { createTrip, type TestTrip } from '../factories/signals.js';
import { CreateTriggerDocument, type CreateTriggerInput, DeliveriesDocument, type DeliveriesQuery, type DeliveryState } from '../generated/graphql.js';
import { gql } from './http.js';
import { waitFor } from './wait.js';

export interface Fleet {
  readonly customer: TestCustomer;
  readonly device: TestDevice;
  readonly trip: TestTrip;
}

export async function createFleet(orm: MikroORM, config: Config, name: string): Promise<Fleet> {
  const customer = await createCustomer(orm, config, name);
  const device = await createDevice(orm, customer);
  const trip = await createTrip(orm, customer, device);
  return { customer, device, trip };
}

/** Creates a trigger through the API; fails the test on any GraphQL error. */
export async function createTrigger(baseUrl: string, token: string, input: CreateTriggerInput): Promise<{ id: string; secret: string }> {
  const res = await gql(baseUrl, CreateTriggerDocument, { input }, token);
  if (res.errors || !res.data) throw new Error(`createTrigger failed: ${JSON.stringify(res.errors)}`);
  return { id: res.data.createTrigger.trigger.id, secret: res.data.createTrigger.webhookSecret };
}

export const webhookTrigger = (url: string, extra: Partial<CreateTriggerInput> = {}): CreateTriggerInput => ({
  description: 'export finished',
  type: 'SIGNAL',
  signal: 'trip_export_finished',
  webhook: { url },
  ...extra,
});

export type DeliveryView = DeliveriesQuery['deliveries'][number];

/** Waits until the trigger has a delivery in one of `states` and answers it (as the API shows it). */
export async function waitForDelivery(baseUrl: string, token: string, triggerId: string, states: DeliveryState[], timeoutMs = 10_000): Promise<DeliveryView> {
  return waitFor(
    async () => {
      const res = await gql(baseUrl, DeliveriesDocument, { triggerId }, token);
      return res.data?.deliveries.find((d) => states.includes(d.state));
    },
    `a ${states.join('/')} delivery of trigger ${triggerId}`,
    timeoutMs,
  );
}
