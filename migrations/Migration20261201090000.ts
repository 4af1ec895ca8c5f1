import { Migration } from '@mikro-orm/migrations';

/**
 * A device's last upload (`Device.lastSeenAt`, on the dashboard's fleet and device pages) is
 * `max(received_at)` of its upload batches. The batches were keyed by `(device_id, sha256)`
 * only, so that maximum read every batch the device has kept (a device uploading once a minute
 * keeps 43,200 in 30 days, on every page view); with this index it is the last entry of the
 * device's range.
 */
export class Migration20261201090000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "ingest_batches_device_id_received_at_index" on "ingest_batches" ("device_id", "received_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "ingest_batches_device_id_received_at_index";`);
  }
}
