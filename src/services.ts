import type { Config } from './config/config.js';
import type { Database } from './db/database.js';
import { JobQueue } from './jobs/job-queue.js';
import { DomainEvents } from './lib/domain-events.js';
import { AuthService } from './modules/accounts/auth.service.js';
import { DeviceService } from './modules/devices/device.service.js';
import { ExportService } from './modules/exports/export.service.js';
import { TaskService } from './modules/tasks/task.service.js';

/** Every service, built once per process and handed to the edges. */
export interface Services {
  readonly config: Config;
  readonly db: Database;
  readonly events: DomainEvents;
  readonly auth: AuthService;
  readonly devices: DeviceService;
  readonly jobs: JobQueue;
  readonly exports: ExportService;
  readonly tasks: TaskService;
}

export function createServices(config: Config, db: Database): Services {
  const events = new DomainEvents();
  const jobs = new JobQueue(config, db.url);
  const exports = new ExportService(config, db.pool, jobs);
  events.onTripEnd((tx, event) => exports.onTripEnd(tx, event));
  return {
    config,
    db,
    events,
    auth: new AuthService(config),
    devices: new DeviceService(),
    jobs,
    exports,
    tasks: new TaskService(config, db.pool, jobs),
  };
}
