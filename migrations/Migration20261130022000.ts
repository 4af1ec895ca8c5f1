import { Migration } from '@mikro-orm/migrations';

/**
 * Resumable announcements: each signal gets its place in the customer's stream when it is
 * fanned out, and `signal_streams` counts them per customer and signal name. Signals fanned out
 * before this migration keep no position: they are not replayable, and were never promised to be.
 */
export class Migration20261130022000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "signal_streams" ("customer_id" uuid not null, "name" text not null, "last_position" bigint not null default 0, "pruned_through" bigint not null default 0, constraint "signal_streams_pkey" primary key ("customer_id", "name"));`,
    );
    this.addSql(
      `alter table "signal_streams" add constraint "signal_streams_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`alter table "signals" add column "position" bigint null;`);
    this.addSql(`alter table "signals" add constraint "signals_customer_id_name_position_unique" unique ("customer_id", "name", "position");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "signal_streams" cascade;`);
    this.addSql(`alter table "signals" drop constraint "signals_customer_id_name_position_unique";`);
    this.addSql(`alter table "signals" drop column "position";`);
  }
}
