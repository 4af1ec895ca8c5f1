import { Migration } from '@mikro-orm/migrations';

/**
 * Records at times a device cannot mean (1970 from a clock without a fix, the year 9999) are
 * kept, but not in `records`: a month partition each let one batch create hundreds of tables. A
 * default partition would hold them too, but PostgreSQL refuses `DETACH PARTITION ...
 * CONCURRENTLY` while one exists, and retention relies on it to drop old months without
 * blocking uploads and exports. Retention removes these rows by the time they were received.
 */
export class Migration20261127110000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "records_untrusted_time" (
      "device_id" uuid not null,
      "ts" timestamptz(6) not null,
      "line" text not null,
      "lat" double precision null,
      "lon" double precision null,
      "received_at" timestamptz(6) not null default now()
    );`);
    this.addSql(`create index "records_untrusted_time_device_ts_index" on "records_untrusted_time" ("device_id", "ts");`);
    this.addSql(`create index "records_untrusted_time_received_at_brin" on "records_untrusted_time" using brin ("received_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "records_untrusted_time";`);
  }
}
