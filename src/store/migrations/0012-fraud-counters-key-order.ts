import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * `fraud_counters` in key order only. Every send upserts three or four counter rows; with a
 * rowid table, its primary-key index and the `bucket` index, each new row was written to three
 * B-trees, and the commit carried their pages. On SQLite the table becomes WITHOUT ROWID (the
 * primary key is the table, so a read of a key's buckets is one range with no lookups), and on
 * both engines the `bucket` index goes: housekeeping now walks the table in key order a chunk
 * at a time (src/store/queries/fraud.ts `purgeCountersChunk`) instead of asking for old buckets.
 */
export const m0012FraudCountersKeyOrder = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('fraud_counters_bucket').ifExists().execute();
    if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
    await sql`create table fraud_counters_next (
      tenant_id text not null references tenants (id) on delete cascade,
      key text not null,
      bucket bigint not null,
      sent integer not null,
      verified integer not null,
      segments integer not null,
      cost_micros bigint not null,
      constraint fraud_counters_pk primary key (tenant_id, key, bucket)
    ) without rowid`.execute(db);
    await sql`insert into fraud_counters_next select tenant_id, key, bucket, sent, verified, segments, cost_micros from fraud_counters`.execute(db);
    await sql`drop table fraud_counters`.execute(db);
    await sql`alter table fraud_counters_next rename to fraud_counters`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    // The table's shape on SQLite stays (a WITHOUT ROWID table serves every query the old one did).
    await db.schema.createIndex('fraud_counters_bucket').ifNotExists().on('fraud_counters').column('bucket').execute();
  },
};
