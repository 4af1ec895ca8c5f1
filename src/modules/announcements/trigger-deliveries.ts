import { randomUUID } from 'node:crypto';

import type { EntityManager } from '@mikro-orm/postgresql';

import type { Config } from '../../config/config.js';
import { webhookIdOf } from '../../notify/webhook-signature.js';
import type { Device } from '../devices/device.entity.js';
import { DeliveryChannel, type Trigger } from '../triggers/trigger.entity.js';
import type { TemplateCheck, TriggerDeliveries, TriggerTestResult } from '../triggers/trigger-deliveries.js';
import type { DeliveryChannels } from './delivery-channels.js';
import { failWaitingDeliveriesOf } from './delivery-queue.js';
import { announce, sampleMessage } from './rendered-announcement.js';
import { webhookBody } from './webhook-sender.js';

/** The announcements' side of `TriggerDeliveries`: sample renders, test sends, failing what waits. */
export class AnnouncementTriggerDeliveries implements TriggerDeliveries {
  constructor(
    private readonly config: Config,
    private readonly channels: DeliveryChannels,
  ) {}

  templateProblems(check: TemplateCheck): string[] {
    try {
      webhookBody({ id: '', ...check }, announce(this.config, sampleMessage('sample')));
      return [];
    } catch (error) {
      return [(error as Error).message];
    }
  }

  test(trigger: Trigger, customerId: string, device: Device | undefined): Promise<TriggerTestResult[]> {
    const channels = [...(trigger.webhookUrl ? [DeliveryChannel.WEBHOOK] : []), ...(trigger.emailRecipients.length ? [DeliveryChannel.EMAIL] : [])];
    const message = sampleMessage(customerId, device);
    const deliveryId = `test_${randomUUID()}`;
    return Promise.all(
      channels.map(async (channel) => ({
        channel,
        webhookId: channel === DeliveryChannel.WEBHOOK ? webhookIdOf(deliveryId) : null,
        ...(await this.channels.deliver(channel, trigger, message, deliveryId)),
      })),
    );
  }

  failWaiting(tx: EntityManager, triggerId: string, reason: string): Promise<void> {
    return failWaitingDeliveriesOf(tx, triggerId, reason);
  }
}
