import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: `challenges` pages keep 15 % free. A verify's update of its codes (status,
 * verified_at, converted_at: no indexed column) can then stay on the row's page as a HOT
 * update, writing no index entry; on a full page it writes a new entry in each of the table's
 * four indexes, two of them keyed by phone or IP, so random pages of a large store. Pages
 * already full keep their rows until a rewrite (VACUUM FULL or pg_repack); new ones get the room.
 */
export const m0020PgChallengesFillfactor = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`alter table challenges set (fillfactor = 85)`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`alter table challenges reset (fillfactor)`.execute(db);
  },
};
