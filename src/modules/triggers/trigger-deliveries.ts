import type { EntityManager } from '@mikro-orm/postgresql';

import type { AttemptOutcome } from '../../notify/attempt-outcome.js';
import type { Device } from '../devices/device.entity.js';
import type { DeliveryChannel, Trigger } from './trigger.entity.js';

export interface TriggerTestResult extends AttemptOutcome {
  readonly channel: DeliveryChannel;
  readonly webhookId: string | null;
}

/** The fields a webhook body template is rendered with, before the trigger is saved. */
export interface TemplateCheck {
  readonly description: string;
  readonly webhookUrl: string;
  readonly webhookBodyTemplate: string;
}

/**
 * What triggers need of the announcements feature that acts on them. Announcements depend on
 * triggers (a delivery belongs to a trigger), not the other way round, so the implementation
 * (`announcements/trigger-deliveries.ts`) is handed in by `services.ts`.
 */
export interface TriggerDeliveries {
  /** Why `check`'s body template cannot render a sample announcement; empty when it can. */
  templateProblems(check: TemplateCheck): string[];
  /** Sends a made-up announcement through each action of `trigger` now; nothing is stored. */
  test(trigger: Trigger, customerId: string, device: Device | undefined): Promise<TriggerTestResult[]>;
  /** Fails the deliveries of `triggerId` that still wait, inside the caller's transaction. */
  failWaiting(tx: EntityManager, triggerId: string, reason: string): Promise<void>;
}
