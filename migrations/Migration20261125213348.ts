import { Migration } from '@mikro-orm/migrations';

/** Accounts, devices, templates, trips, and the partitioned record store. */
export class Migration20261125213348 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "trip_state" as enum ('in_progress', 'completed');`);
    this.addSql(
      `create table "customers" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "name" text not null, constraint "customers_pkey" primary key ("id"));`,
    );

    this.addSql(
      `create table "templates" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "name" text not null, "settings" jsonb not null, constraint "templates_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "templates" add constraint "templates_customer_id_name_unique" unique ("customer_id", "name");`);

    this.addSql(
      `create table "devices" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "unit_id" uuid not null, "vehicle_id" int not null, "name" text not null, "template_id" uuid null, "settings" jsonb not null, "upload_token_hash" text not null, "last_event_ts" timestamptz(6) null, constraint "devices_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "devices_customer_id_index" on "devices" ("customer_id");`);
    this.addSql(`alter table "devices" add constraint "devices_unit_id_unique" unique ("unit_id");`);
    this.addSql(`alter table "devices" add constraint "devices_upload_token_hash_unique" unique ("upload_token_hash");`);

    this.addSql(
      `create table "trips" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "device_id" uuid not null, "start_time_utc" timestamptz(6) not null, "end_time_utc" timestamptz(6) null, "state" "trip_state" not null default 'in_progress', "final_end" boolean not null default false, "end_count" int not null default 0, "start_lat" double precision null, "start_lng" double precision null, "end_lat" double precision null, "end_lng" double precision null, "distance_km" double precision not null default 0, constraint "trips_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "trips_customer_id_start_time_utc_index" on "trips" ("customer_id", "start_time_utc");`);
    this.addSql(`create unique index "trips_one_open_per_device" on "trips" ("device_id") where "state" = 'in_progress';`);
    this.addSql(`create index "trips_device_id_start_time_utc_index" on "trips" ("device_id", "start_time_utc");`);

    this.addSql(
      `create table "users" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "email" text not null, "password_hash" text not null, constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(
      `create table "api_tokens" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "user_id" uuid not null, "name" text not null, "prefix" text not null, "token_hash" text not null, "expires_at" timestamptz(6) null, "last_used_at" timestamptz(6) null, "revoked_at" timestamptz(6) null, constraint "api_tokens_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");`);

    this.addSql(
      `alter table "templates" add constraint "templates_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "devices" add constraint "devices_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "devices" add constraint "devices_template_id_foreign" foreign key ("template_id") references "templates" ("id") on update cascade on delete set null;`,
    );

    this.addSql(`alter table "trips" add constraint "trips_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "trips" add constraint "trips_device_id_foreign" foreign key ("device_id") references "devices" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "users" add constraint "users_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);

    this.addSql(
      `alter table "api_tokens" add constraint "api_tokens_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    // Records are bulk data (COPY in, COPY out), not ORM entities. Each row keeps the exact JSON
    // line that goes into an export; monthly partitions make dropping old data cheap.
    this.addSql(`create table "records" (
      "device_id" uuid not null,
      "ts" timestamptz(6) not null,
      "line" text not null,
      "lat" double precision null,
      "lon" double precision null
    ) partition by range ("ts");`);
    this.addSql(`create index "records_device_ts_index" on "records" ("device_id", "ts");`);
    this.addSql(`create index "records_device_pos_index" on "records" ("device_id", "ts") include ("lat", "lon") where "lat" is not null;`);
    // Creates the month's partition on first use. The advisory lock keeps two uploads from racing.
    this.addSql(`create or replace function "ensure_records_partition"(at timestamptz) returns text language plpgsql as $$
      declare
        month_start timestamptz := date_trunc('month', at at time zone 'UTC') at time zone 'UTC';
        part text := 'records_' || to_char(month_start at time zone 'UTC', 'YYYY"m"MM');
      begin
        if to_regclass(part) is null then
          perform pg_advisory_xact_lock(hashtext(part));
          execute format('create table if not exists %I partition of "records" for values from (%L) to (%L)',
            part, month_start, month_start + interval '1 month');
        end if;
        return part;
      end $$;`);
    // One row per accepted upload: the same batch sent again is recognised and stored once.
    this.addSql(`create table "ingest_batches" (
      "device_id" uuid not null references "devices" ("id") on delete cascade,
      "sha256" text not null,
      "records" int not null,
      "received_at" timestamptz(6) not null default now(),
      constraint "ingest_batches_pkey" primary key ("device_id", "sha256")
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "ingest_batches" cascade;`);
    this.addSql(`drop function if exists "ensure_records_partition"(timestamptz);`);
    this.addSql(`drop table if exists "records" cascade;`);
    this.addSql(`alter table "templates" drop constraint "templates_customer_id_foreign";`);

    this.addSql(`alter table "devices" drop constraint "devices_customer_id_foreign";`);

    this.addSql(`alter table "trips" drop constraint "trips_customer_id_foreign";`);

    this.addSql(`alter table "users" drop constraint "users_customer_id_foreign";`);

    this.addSql(`alter table "api_tokens" drop constraint "api_tokens_customer_id_foreign";`);

    this.addSql(`alter table "devices" drop constraint "devices_template_id_foreign";`);

    this.addSql(`alter table "trips" drop constraint "trips_device_id_foreign";`);

    this.addSql(`alter table "api_tokens" drop constraint "api_tokens_user_id_foreign";`);

    this.addSql(`drop table if exists "customers" cascade;`);

    this.addSql(`drop table if exists "templates" cascade;`);

    this.addSql(`drop table if exists "devices" cascade;`);

    this.addSql(`drop table if exists "trips" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "api_tokens" cascade;`);

    this.addSql(`drop type "trip_state";`);
  }
}
