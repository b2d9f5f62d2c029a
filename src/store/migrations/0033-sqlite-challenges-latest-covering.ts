import { SqliteAdapter, type Kysely } from 'kysely';

/**
 * SQLite: `challenges_latest` also carries what a send reads of the phone's latest code, so
 * that read comes from the index alone. Before, it went on to the code's table row: on a large
 * store a row written days ago, anywhere in the table, and so a page read from outside
 * SQLite's cache on almost every send to a returning number (docs/performance.md). SQLite has
 * no INCLUDE, so the columns trail the key; they never order anything.
 *
 * PostgreSQL keeps the index as it was: its sends read the latest code inside `otpgate_send`,
 * and a status in an index would keep a code's status changes from being HOT updates.
 */
export const m0033SqliteChallengesLatestCovering = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
    await db.schema.dropIndex('challenges_latest').ifExists().execute();
    await db.schema
      .createIndex('challenges_latest')
      .on('challenges')
      .columns(['tenant_id', 'phone', 'purpose', 'created_at', 'id', 'status', 'expires_at', 'resend_available_at', 'verified_at', 'verification_id'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
    await db.schema.dropIndex('challenges_latest').ifExists().execute();
    await db.schema.createIndex('challenges_latest').on('challenges').columns(['tenant_id', 'phone', 'purpose', 'created_at', 'id']).execute();
  },
};
