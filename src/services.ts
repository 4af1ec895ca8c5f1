import type { Logger } from 'pino';

import type { Config } from './config/config.js';
import type { Database } from './db/database.js';
import { stopJobs } from './job-handlers.js';
import { JobQueue } from './jobs/job-queue.js';
import { DatabaseOutage } from './lib/database-outage.js';
import { DomainEvents } from './lib/domain-events.js';
import { Metrics } from './lib/metrics.js';
import { Readiness } from './lib/readiness.js';
import { pingRedis } from './lib/redis.js';
import { AuthService } from './modules/accounts/auth.service.js';
import { AnnouncementService } from './modules/announcements/announcement.service.js';
import type { AnnouncementTopics } from './modules/announcements/announcement-topics.js';
import { DeliveryService } from './modules/announcements/delivery.service.js';
import { DeliveryChannels } from './modules/announcements/delivery-channels.js';
import { DeviceEventService } from './modules/announcements/device-event.service.js';
import { DeviceEventSignals } from './modules/announcements/device-event-signals.js';
import { Dispatcher } from './modules/announcements/dispatcher.js';
import { AnnouncementTriggerDeliveries } from './modules/announcements/trigger-deliveries.js';
import { DeviceService } from './modules/devices/device.service.js';
import { DeviceDeletion } from './modules/devices/device-deletion.js';
import { ExportService } from './modules/exports/export.service.js';
import { TaskService } from './modules/exports/task.service.js';
import type { TaskTopics } from './modules/exports/task-topics.js';
import { IngestService } from './modules/ingest/ingest.service.js';
import { TriggerService } from './modules/triggers/trigger.service.js';
import { WebhookSecrets } from './modules/triggers/webhook-secrets.js';
import { TripService } from './modules/trips/trip.service.js';
import { TripDetectionService } from './modules/trips/trip-detection.service.js';
import type { TripTopics } from './modules/trips/trip-topics.js';
import { createTopicPubSub, type PubSubHandle } from './notify/pub-sub.js';

/** Every feature's subscription topics, carried by one pub/sub. */
export type LiveTopics = AnnouncementTopics & TaskTopics & TripTopics;

/** Every service, built once per process and handed to the edges. */
export interface Services {
  readonly config: Config;
  readonly db: Database;
  readonly events: DomainEvents;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  /** Database faults: one warning per outage; the edges answer them with 503. Closed by App.close. */
  readonly outage: DatabaseOutage;
  readonly auth: AuthService;
  readonly devices: DeviceService;
  readonly deviceDeletion: DeviceDeletion;
  readonly trips: TripService;
  readonly ingest: IngestService;
  readonly jobs: JobQueue;
  readonly exports: ExportService;
  readonly tasks: TaskService;
  readonly triggers: TriggerService;
  readonly deliveries: DeliveryService;
  readonly announcements: AnnouncementService;
  /** The `deviceEvent` subscription. */
  readonly deviceEvents: DeviceEventService;
  /** Outside systems of the announcements (Redis pub/sub, SMTP, webhooks); closed by App.close. */
  readonly notify: { readonly pubSub: PubSubHandle<LiveTopics>; readonly channels: DeliveryChannels };
  /** Sends the announcements; started by the roles that announce (`all`, `worker`). */
  readonly dispatcher: Dispatcher;
  /** Stops and closes everything above in the reverse order of building it. */
  close(): Promise<void>;
}

export function createServices(config: Config, db: Database, log: Logger): Services {
  const events = new DomainEvents();
  const metrics = new Metrics();
  const readiness = new Readiness();
  const pingPostgres = async (): Promise<void> => {
    await db.pool.query('SELECT 1');
  };
  const outage = new DatabaseOutage(log, pingPostgres);
  // An API instance nobody sends requests to still logs the outage when probed.
  readiness.add('postgres', async () => {
    try {
      await pingPostgres();
    } catch (error) {
      outage.absorb(error);
      throw error;
    }
  });
  const { redisUrl } = config;
  if (redisUrl) readiness.add('redis', () => pingRedis(redisUrl));
  // One pub/sub (one pair of Redis connections) for every live topic.
  const pubSub = createTopicPubSub<LiveTopics>(config.redisUrl);
  const secrets = new WebhookSecrets(config.jwtSecret);
  const channels = new DeliveryChannels(config, secrets);
  // Built for every role, started only by those that announce (see app.ts).
  const dispatcher = new Dispatcher({ config, db, channels, pubSub: pubSub.pubSub, log, outage, metrics });
  const jobs = new JobQueue(config, db.url, log, outage);
  readiness.add(jobs.storeName, () => jobs.check());
  const exports = new ExportService(config, db.pool, jobs, metrics, pubSub.pubSub);
  events.onTripEnd((tx, event) => exports.onTripEnd(tx, event));
  events.onTripsChanged((tx, event) => exports.onTripsChanged(tx, event));
  const ingest = new IngestService(db, new TripDetectionService(events, pubSub.pubSub), new DeviceEventSignals(), metrics, config);
  events.onDeviceDeleted((tx, event) => ingest.onDeviceDeleted(tx, event));
  events.onDeviceDeleted((tx, event) => exports.onDeviceDeleted(tx, event));
  const services: Services = {
    config,
    db,
    events,
    log,
    metrics,
    readiness,
    outage,
    auth: new AuthService(config),
    devices: new DeviceService(),
    deviceDeletion: new DeviceDeletion(db.pool, events),
    trips: new TripService(pubSub.pubSub),
    ingest,
    jobs,
    exports,
    tasks: new TaskService(config, db.pool, jobs, pubSub.pubSub),
    triggers: new TriggerService(config, secrets, new AnnouncementTriggerDeliveries(config, channels)),
    deliveries: new DeliveryService(),
    announcements: new AnnouncementService(config, pubSub.pubSub, () => db.orm.em.fork()),
    deviceEvents: new DeviceEventService(config, pubSub.pubSub, () => db.orm.em.fork()),
    notify: { pubSub, channels },
    dispatcher,
    async close() {
      // The reverse of the order above: running exports drain first, so the dispatcher can
      // still announce what they finish; the outside connections go last.
      await stopJobs(services);
      await dispatcher.stop();
      channels.close();
      await pubSub.close();
      outage.close();
    },
  };
  return services;
}
