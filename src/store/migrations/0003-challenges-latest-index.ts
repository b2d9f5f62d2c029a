import type { Kysely } from 'kysely';

/**
 * The latest challenge for a phone and purpose — read by every send (cooldown, supersede)
 * and by a verify without a challenge id — straight from an index: `challenges_phone` has no
 * purpose and no id, so the engine read every challenge of the phone and sorted them (on
 * SQLite the costliest statement of a send, ~58 µs of ~110 µs in docs/performance.md).
 */
export const m0003ChallengesLatestIndex = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createIndex('challenges_latest').on('challenges').columns(['tenant_id', 'phone', 'purpose', 'created_at', 'id']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('challenges_latest').ifExists().execute();
  },
};
