import { Migration } from '@mikro-orm/migrations';

/**
 * The revision of a task's result: late data re-exports a trip, and receivers need to tell the
 * newer file from the one they already have. Tasks that already succeeded had their first.
 */
export class Migration20261130020000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "tasks" add column "revision" int not null default 0;`);
    this.addSql(`update "tasks" set "revision" = 1 where "result_at" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "tasks" drop column "revision";`);
  }
}
