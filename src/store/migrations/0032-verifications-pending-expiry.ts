import { sql, type Kysely } from 'kysely';

/**
 * `verifications_pending` holds only what housekeeping's expiry reads: its predicate is now
 * `status = 'pending' and approved_at is null` (the same rows: a pending verification has no
 * approval), which only that statement states. With `status = 'pending'` alone, every statement
 * that changes one verification by id while it is pending (a verify's approval or wrong code, a
 * resend's cancel, in the PostgreSQL functions too) also matched it. On a large store
 * PostgreSQL then took this index, small by its statistics, over the primary key and walked
 * every live pending verification for each verify: 24–175 ms each with 74,649 pending.
 */
export const m0032VerificationsPendingExpiry = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('verifications_pending').ifExists().execute();
    await db.schema
      .createIndex('verifications_pending')
      .on('verifications')
      .column('expires_at')
      .where((eb) => eb.and([eb(sql.ref('status'), '=', 'pending'), eb(sql.ref('approved_at'), 'is', null)]))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('verifications_pending').ifExists().execute();
    await db.schema.createIndex('verifications_pending').on('verifications').column('expires_at').where(sql.ref('status'), '=', 'pending').execute();
  },
};
