import { Migration } from '@mikro-orm/migrations';

/**
 * Retention deletes upload batch hashes by age once a day. Rows arrive in time order, so a
 * BRIN index on `received_at` (a few pages however large the table grows) spares that delete
 * a scan of the whole table.
 */
export class Migration20261126020000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "ingest_batches_received_at_brin" on "ingest_batches" using brin ("received_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "ingest_batches_received_at_brin";`);
  }
}
