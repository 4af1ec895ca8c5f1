import { Migration } from '@mikro-orm/migrations';

/**
 * Announcements: triggers, their deliveries and every delivery attempt. A statement trigger
 * on the signal outbox wakes the dispatchers (LISTEN trip_export_work) when the transaction
 * that wrote a signal commits, whoever wrote it.
 */
export class Migration20261125214851 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "trigger_type" as enum ('signal', 'event');`);
    this.addSql(`create type "delivery_channel" as enum ('webhook', 'email');`);
    this.addSql(`create type "delivery_state" as enum ('pending', 'sending', 'delivered', 'failed');`);
    this.addSql(
      `create table "triggers" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "description" text not null, "enabled" boolean not null default true, "type" "trigger_type" not null, "signal" text null, "event_tag" text null, "device_id" uuid null, "min_interval_seconds" int not null default 0, "last_triggered_at" timestamptz(6) null, "last_error" text null, "last_error_at" timestamptz(6) null, "email_recipients" jsonb not null, "webhook_url" text null, "webhook_headers" jsonb not null, "webhook_body_template" text null, "webhook_secret_sealed" text not null, "previous_webhook_secret_sealed" text null, "previous_secret_expires_at" timestamptz(6) null, constraint "triggers_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "triggers_customer_id_type_signal_index" on "triggers" ("customer_id", "type", "signal");`);

    this.addSql(
      `create table "deliveries" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "signal_id" uuid not null, "trigger_id" uuid not null, "channel" "delivery_channel" not null, "task_id" bigint not null, "reason" text not null, "state" "delivery_state" not null default 'pending', "attempts" int not null default 0, "attempts_in_run" int not null default 0, "next_attempt_at" timestamptz(6) null, "lease_expires_at" timestamptz(6) null, "last_attempt_at" timestamptz(6) null, "delivered_at" timestamptz(6) null, "last_status_code" int null, "last_error" text null, constraint "deliveries_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "deliveries_trigger_id_created_at_index" on "deliveries" ("trigger_id", "created_at");`);
    this.addSql(`create index "deliveries_customer_id_created_at_index" on "deliveries" ("customer_id", "created_at");`);
    this.addSql(`create index "deliveries_state_next_attempt_at_index" on "deliveries" ("state", "next_attempt_at");`);
    this.addSql(`alter table "deliveries" add constraint "deliveries_signal_id_trigger_id_channel_unique" unique ("signal_id", "trigger_id", "channel");`);

    this.addSql(
      `create table "delivery_attempts" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "delivery_id" uuid not null, "number" int not null, "started_at" timestamptz(6) not null, "duration_ms" int not null, "succeeded" boolean not null, "status_code" int null, "error" text null, "response" text null, constraint "delivery_attempts_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "delivery_attempts_delivery_id_number_index" on "delivery_attempts" ("delivery_id", "number");`);

    this.addSql(
      `alter table "triggers" add constraint "triggers_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`alter table "triggers" add constraint "triggers_device_id_foreign" foreign key ("device_id") references "devices" ("id") on update cascade on delete cascade;`);

    this.addSql(
      `alter table "deliveries" add constraint "deliveries_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "deliveries" add constraint "deliveries_signal_id_foreign" foreign key ("signal_id") references "signals" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "deliveries" add constraint "deliveries_trigger_id_foreign" foreign key ("trigger_id") references "triggers" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "delivery_attempts" add constraint "delivery_attempts_delivery_id_foreign" foreign key ("delivery_id") references "deliveries" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(`create or replace function "signals_notify_work"() returns trigger language plpgsql as $$
      begin
        perform pg_notify('trip_export_work', 'signal');
        return null;
      end $$;`);
    this.addSql(`create trigger "signals_notify_work" after insert on "signals" for each statement execute function "signals_notify_work"();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "signals_notify_work" on "signals";`);
    this.addSql(`drop function if exists "signals_notify_work"();`);
    this.addSql(`alter table "deliveries" drop constraint "deliveries_trigger_id_foreign";`);

    this.addSql(`alter table "delivery_attempts" drop constraint "delivery_attempts_delivery_id_foreign";`);

    this.addSql(`drop table if exists "triggers" cascade;`);

    this.addSql(`drop table if exists "deliveries" cascade;`);

    this.addSql(`drop table if exists "delivery_attempts" cascade;`);

    this.addSql(`drop type "trigger_type";`);
    this.addSql(`drop type "delivery_channel";`);
    this.addSql(`drop type "delivery_state";`);
  }
}
