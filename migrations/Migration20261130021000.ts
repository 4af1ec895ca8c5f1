import { Migration } from '@mikro-orm/migrations';

/**
 * EVENT triggers fire. A `device_event` signal announces one uploaded record: it has no trip
 * or task, and names the triggers it fired (`trigger_ids`), the only ones it fans out to.
 *
 * `event_trigger_firings` holds, per trigger and device, the record time of the last firing:
 * the upload that fires already holds the device's row lock, so the minimum interval is kept
 * without locking the trigger (which every device of the customer would then queue on).
 *
 * `event_trigger_versions` counts changes to a customer's triggers, bumped by the database
 * itself whoever writes them: every instance compares it, read in the upload's first statement,
 * with the version of the matchers it compiled.
 */
export class Migration20261130021000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "signals" alter column "trip_id" drop not null, alter column "task_id" drop not null;`);
    this.addSql(`alter table "signals" add column "trigger_ids" uuid[] null;`);
    this.addSql(`alter table "deliveries" alter column "task_id" drop not null;`);

    this.addSql(
      `create table "event_trigger_firings" ("trigger_id" uuid not null, "device_id" uuid not null, "last_event_at" timestamptz(6) not null, constraint "event_trigger_firings_pkey" primary key ("trigger_id", "device_id"));`,
    );
    this.addSql(
      `alter table "event_trigger_firings" add constraint "event_trigger_firings_trigger_id_foreign" foreign key ("trigger_id") references "triggers" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "event_trigger_firings" add constraint "event_trigger_firings_device_id_foreign" foreign key ("device_id") references "devices" ("id") on delete cascade;`,
    );

    this.addSql(
      `create table "event_trigger_versions" ("customer_id" uuid not null, "version" bigint not null, constraint "event_trigger_versions_pkey" primary key ("customer_id"));`,
    );
    this.addSql(
      `alter table "event_trigger_versions" add constraint "event_trigger_versions_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on delete cascade;`,
    );
    // Only the columns matching depends on: deliveries write last_triggered_at and last_error
    // all the time, and must not make every instance recompile.
    this.addSql(`create or replace function "event_trigger_versions_bump"() returns trigger language plpgsql as $$
      begin
        insert into event_trigger_versions (customer_id, version)
        values (coalesce(new.customer_id, old.customer_id), 1)
        on conflict (customer_id) do update set version = event_trigger_versions.version + 1;
        return null;
      end $$;`);
    this.addSql(
      `create trigger "event_trigger_versions_bump" after insert or delete or update of "customer_id", "enabled", "type", "event_tag", "device_id", "min_interval_seconds" on "triggers" for each row execute function "event_trigger_versions_bump"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "event_trigger_versions_bump" on "triggers";`);
    this.addSql(`drop function if exists "event_trigger_versions_bump"();`);
    this.addSql(`drop table if exists "event_trigger_versions";`);
    this.addSql(`drop table if exists "event_trigger_firings";`);
    this.addSql(`delete from "signals" where "name" = 'device_event';`);
    this.addSql(`alter table "signals" drop column "trigger_ids";`);
    this.addSql(`alter table "deliveries" alter column "task_id" set not null;`);
    this.addSql(`alter table "signals" alter column "trip_id" set not null, alter column "task_id" set not null;`);
  }
}
