import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: the outbox and the event deliveries are queues, and their partial "due"
 * indexes keep an entry for every row that has left the queue until a vacuum cleans the index.
 * A claim walks those dead entries from the oldest first: on a 10 M-message store with a few
 * hundred thousand sends since the last cleanup, a claim of 16 rows read 175 index pages and
 * took 5–8 ms instead of 5 pages (docs/performance.md, 2026-12-05). By default autovacuum
 * visits a table once a fifth of it is dead (2 M rows of a 10 M table), and then skips the
 * indexes when few heap pages have dead rows, which is just the queue's pattern. So these two
 * tables are vacuumed after a fixed number of dead rows, indexes included.
 */
export const m0024PgQueueVacuum = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`alter table messages set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000, vacuum_index_cleanup = on)`.execute(db);
    await sql`alter table event_deliveries set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, vacuum_index_cleanup = on)`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    for (const table of ['messages', 'event_deliveries']) {
      await sql`alter table ${sql.table(table)} reset (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, vacuum_index_cleanup)`.execute(db);
    }
  },
};
