import { Migration } from '@mikro-orm/migrations';

/**
 * Webhook header values (receivers' API keys) are stored sealed. SQL cannot seal them (the key
 * is not in the database), so existing rows are sealed by the service at start-up and
 * `webhook_headers` keeps only masked values from then on.
 */
export class Migration20261129234139 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "triggers" add column "webhook_headers_sealed" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "triggers" drop column "webhook_headers_sealed";`);
  }
}
