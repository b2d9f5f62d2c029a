import type { Kysely } from 'kysely';

/**
 * Data lifecycle (docs/data-lifecycle.md): `lifecycle_marks` holds, per table, the id below
 * which housekeeping has already replaced phone numbers by their keyed hash, so each run reads
 * only the rows that crossed `OTPGATE_PHONE_RETENTION_DAYS` since the last one instead of every
 * hashed row still kept. Any node may move a mark; it only ever moves forward.
 */
export const m0008DataLifecycle = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('lifecycle_marks')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('until_id', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('lifecycle_marks').ifExists().execute();
  },
};
