import { Migration } from '@mikro-orm/migrations';

/**
 * Closed stretches of a device's records, kept as raw deflate instead of one row per record
 * (issue 16): the rows took 1.55x the bytes of their JSON lines, a segment about a tenth. Each
 * segment holds the exact stored lines in `(ts, line)` order, compressed on its own and ending
 * byte-aligned, so an export copies its bytes into a gzip member unchanged. The segments of one
 * device never overlap in `[first_ts, last_ts]`. `data` is stored EXTERNAL: it is already
 * compressed, and pglz would only spend CPU trying. Format: src/modules/ingest/segments.md.
 */
export class Migration20261130100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "record_segments" (
      "id" bigserial primary key,
      "device_id" uuid not null,
      "first_ts" timestamptz(6) not null,
      "last_ts" timestamptz(6) not null,
      "record_count" int not null,
      "raw_length" int not null,
      "crc32" bigint not null,
      "data" bytea not null,
      "positions" bytea null,
      "created_at" timestamptz(6) not null default now()
    );`);
    this.addSql(`create index "record_segments_device_first_ts_index" on "record_segments" ("device_id", "first_ts") include ("last_ts");`);
    this.addSql(`alter table "record_segments" alter column "data" set storage external;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "record_segments";`);
  }
}
