import type { Config } from './config/config.js';
import type { Database } from './db/database.js';
import { DomainEvents } from './lib/domain-events.js';
import { AuthService } from './modules/accounts/auth.service.js';
import { DeliveryService } from './modules/deliveries/delivery.service.js';
import { DeviceService } from './modules/devices/device.service.js';
import { AnnouncementService } from './modules/signals/announcement.service.js';
import { TriggerService } from './modules/triggers/trigger.service.js';
import { DeliveryChannels } from './notify/delivery-channels.js';
import { createAnnouncementPubSub, type PubSubHandle } from './notify/pub-sub.js';
import { WebhookSecrets } from './notify/webhook-secrets.js';

/** Every service, built once per process and handed to the edges. */
export interface Services {
  readonly config: Config;
  readonly db: Database;
  readonly events: DomainEvents;
  readonly auth: AuthService;
  readonly devices: DeviceService;
  readonly triggers: TriggerService;
  readonly deliveries: DeliveryService;
  readonly announcements: AnnouncementService;
  /** Outside systems of the announcements (Redis pub/sub, SMTP, webhooks); closed by App.close. */
  readonly notify: { readonly pubSub: PubSubHandle; readonly channels: DeliveryChannels };
}

export function createServices(config: Config, db: Database): Services {
  const events = new DomainEvents();
  const pubSub = createAnnouncementPubSub(config.redisUrl);
  const secrets = new WebhookSecrets(config.jwtSecret);
  const channels = new DeliveryChannels(config, secrets);
  return {
    config,
    db,
    events,
    auth: new AuthService(config),
    devices: new DeviceService(),
    triggers: new TriggerService(config, secrets, channels),
    deliveries: new DeliveryService(),
    announcements: new AnnouncementService(config, pubSub.pubSub),
    notify: { pubSub, channels },
  };
}
