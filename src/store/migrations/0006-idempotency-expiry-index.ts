import type { Kysely } from 'kysely';

/**
 * `idempotency_expires` (expires_at): the housekeeping purge picks each batch of expired keys
 * by `expires_at <= now LIMIT n` (src/store/queries/idempotency.ts). Without an index every
 * batch scanned the table until it had found n expired rows; on PostgreSQL, where new rows fill
 * the space deleted ones left, expired rows are spread through the whole table. The index is
 * only written when a send carries an Idempotency-Key.
 */
export const m0006IdempotencyExpiryIndex = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createIndex('idempotency_expires').ifNotExists().on('idempotency_keys').column('expires_at').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('idempotency_expires').ifExists().execute();
  },
};
