import type { Config } from './config/config.js';
import type { Database } from './db/database.js';
import { DomainEvents } from './lib/domain-events.js';
import { AuthService } from './modules/accounts/auth.service.js';
import { DeviceService } from './modules/devices/device.service.js';
import { IngestService } from './modules/ingest/ingest.service.js';
import { TripDetectionService } from './modules/trips/trip-detection.service.js';
import { TripService } from './modules/trips/trip.service.js';

/** Every service, built once per process and handed to the edges. */
export interface Services {
  readonly config: Config;
  readonly db: Database;
  readonly events: DomainEvents;
  readonly auth: AuthService;
  readonly devices: DeviceService;
  readonly trips: TripService;
  readonly ingest: IngestService;
}

export function createServices(config: Config, db: Database): Services {
  const events = new DomainEvents();
  return {
    config,
    db,
    events,
    auth: new AuthService(config),
    devices: new DeviceService(),
    trips: new TripService(),
    ingest: new IngestService(db, new TripDetectionService(events)),
  };
}
