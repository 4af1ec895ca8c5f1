import { Migration } from '@mikro-orm/migrations';

/** The signal outbox (announcements waiting to be fanned out). */
export class Migration20261125214131 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "signals" ("id" uuid not null, "created_at" timestamptz(6) not null default now(), "customer_id" uuid not null, "name" text not null, "reason" text not null, "device_id" uuid not null, "trip_id" uuid not null, "task_id" bigint not null, "payload" jsonb not null, "fanned_out_at" timestamptz(6) null, constraint "signals_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "signals_fanned_out_at_created_at_index" on "signals" ("fanned_out_at", "created_at");`);

    this.addSql(
      `alter table "signals" add constraint "signals_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "signals" cascade;`);
  }
}
