import { Migration } from '@mikro-orm/migrations';

/**
 * Trip export tasks (one per trip), and the job runner's table: Agenda's PostgreSQL backend
 * runs with `ensureSchema: false`, because two processes creating its schema at once crash.
 * The Agenda DDL is a frozen copy of @agendajs/postgres-backend 3.0.6 `schema.js`.
 */
export class Migration20261125214633 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "task_state" as enum ('PENDING', 'STARTED', 'SUCCESS', 'FAILURE');`);
    this.addSql(
      `create table "tasks" ("id" bigserial primary key, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "trip_id" uuid not null, "device_id" uuid not null, "state" "task_state" not null default 'PENDING', "attempts" int not null default 0, "runs" int not null default 0, "due_at" timestamptz(6) null, "request_count" int not null default 0, "covered_request_count" int not null default 0, "locked_until" timestamptz(6) null, "locked_by" text null, "started_at" timestamptz(6) null, "finished_at" timestamptz(6) null, "error" text null, "result_path" text null, "result_bytes" bigint null, "result_sha256" text null, "result_records" bigint null, "result_first_ts" timestamptz(6) null, "result_last_ts" timestamptz(6) null, "result_at" timestamptz(6) null, "result_cleared_at" timestamptz(6) null, "announced_at" timestamptz(6) null);`,
    );
    this.addSql(`create index "tasks_due_index" on "tasks" ("due_at") where "state" in ('PENDING', 'STARTED');`);
    this.addSql(`create index "tasks_customer_id_id_index" on "tasks" ("customer_id", "id");`);
    this.addSql(`alter table "tasks" add constraint "tasks_trip_id_unique" unique ("trip_id");`);

    this.addSql(`alter table "tasks" add constraint "tasks_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "tasks" add constraint "tasks_trip_id_foreign" foreign key ("trip_id") references "trips" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "tasks" add constraint "tasks_device_id_foreign" foreign key ("device_id") references "devices" ("id") on update cascade on delete cascade;`);

    this.addSql(`create table "agenda_jobs" (
      id uuid primary key default gen_random_uuid(),
      name varchar(255) not null,
      priority integer not null default 0,
      next_run_at timestamptz,
      type varchar(10) not null default 'normal' check (type in ('normal', 'single')),
      locked_at timestamptz,
      last_finished_at timestamptz,
      failed_at timestamptz,
      fail_count integer default null,
      fail_reason text,
      repeat_timezone varchar(100),
      last_run_at timestamptz,
      repeat_interval varchar(255),
      data jsonb default '{}'::jsonb,
      repeat_at varchar(255),
      disabled boolean default false,
      progress real,
      fork boolean default false,
      last_modified_by varchar(255),
      debounce_started_at timestamptz,
      start_date timestamptz,
      end_date timestamptz,
      skip_days jsonb,
      created_at timestamptz default now(),
      updated_at timestamptz default now()
    );`);
    this.addSql(`create index "agenda_jobs_find_and_lock_idx" on "agenda_jobs" (name, next_run_at, priority desc, locked_at, disabled) where disabled = false;`);
    // every() upserts its repeating job with ON CONFLICT on this index.
    this.addSql(`create unique index "agenda_jobs_single_job_idx" on "agenda_jobs" (name) where type = 'single';`);
    this.addSql(`create index "agenda_jobs_locked_at_idx" on "agenda_jobs" (locked_at) where locked_at is not null;`);
    this.addSql(`create index "agenda_jobs_next_run_at_idx" on "agenda_jobs" (next_run_at) where next_run_at is not null;`);
    this.addSql(`create or replace function update_agenda_jobs_updated_at() returns trigger as $$
      begin
        new.updated_at = now();
        return new;
      end;
      $$ language plpgsql;`);
    this.addSql(`create trigger "agenda_jobs_updated_at_trigger" before update on "agenda_jobs" for each row execute function update_agenda_jobs_updated_at();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "agenda_jobs" cascade;`);
    this.addSql(`drop function if exists update_agenda_jobs_updated_at();`);
    this.addSql(`drop table if exists "tasks" cascade;`);

    this.addSql(`drop type "task_state";`);
  }
}
