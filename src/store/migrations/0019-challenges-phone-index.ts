import type { Kysely } from 'kysely';

/**
 * Drops `challenges_phone` (tenant, phone, created_at): `challenges_latest` (tenant, phone,
 * purpose, created_at, id) starts with the same two columns, so every read by phone (the hourly
 * cap's count, the guard's codes of a number, export and erasure) walks the phone's few rows
 * there instead (codes are kept 7 days by default). Each send then writes one index keyed by
 * phone fewer: on a large store, one random page fewer to read and write back.
 */
export const m0019ChallengesPhoneIndex = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('challenges_phone').ifExists().execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.createIndex('challenges_phone').ifNotExists().on('challenges').columns(['tenant_id', 'phone', 'created_at']).execute();
  },
};
