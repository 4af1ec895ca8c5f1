import { Migration } from '@mikro-orm/migrations';

/**
 * Secrets the service generates for itself and all its instances share, such as the JWT
 * secret when JWT_SECRET is unset. Written with plain SQL (insert-if-absent), not an entity.
 */
export class Migration20261129225500 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "service_secrets" ("name" text not null, "value" text not null, "created_at" timestamptz(6) not null default now(), constraint "service_secrets_pkey" primary key ("name"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "service_secrets";`);
  }
}
