import { sql, type Kysely } from 'kysely';

/**
 * Verifications (docs/verifications.md): sends for one phone and purpose while a code is
 * valid form one verification, which owns the attempt budget and the success.
 * - `verifications`: status, attempts, the sealed code under the `same_code` policy (cleared
 *   when it ends), the bound amount and payee, and when its last code expires.
 * - `challenges.verification_id`: the verification of each send.
 * Codes pending at the upgrade each become a verification of their own (id `ver_` + the
 * challenge id's body), so they keep verifying with the attempts they have used; codes that
 * had ended keep a null verification_id and answer from their own status.
 */
export const m0009Verifications = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('verifications')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('code_sealed', 'text')
      .addColumn('amount', 'text')
      .addColumn('payee', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('approved_at', 'bigint')
      .execute();
    // Housekeeping and erasure find a tenant's verifications by age.
    await db.schema.createIndex('verifications_tenant').on('verifications').columns(['tenant_id', 'created_at']).execute();
    // Housekeeping ends the pending ones past their expiry (and drops their sealed codes).
    await db.schema.createIndex('verifications_pending').on('verifications').column('expires_at').where(sql.ref('status'), '=', 'pending').execute();

    await db.schema.alterTable('challenges').addColumn('verification_id', 'text').execute();
    // Verify reads the newest codes of a verification; close updates all of them. The id alone:
    // a verification has a handful of sends, and with created_at in it the planner would take
    // this index for the time-range counts of the send path.
    await db.schema.createIndex('challenges_verification').on('challenges').column('verification_id').execute();

    await sql`
      insert into verifications (id, tenant_id, phone, purpose, status, attempts, max_attempts, code_sealed, amount, payee, created_at, updated_at, expires_at, approved_at)
      select 'ver_' || substr(id, 5), tenant_id, phone, purpose, 'pending', attempts, max_attempts, null, null, null, created_at, created_at, expires_at, null
      from challenges where status = 'pending'
    `.execute(db);
    await sql`update challenges set verification_id = 'ver_' || substr(id, 5) where status = 'pending'`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('challenges_verification').ifExists().execute();
    await db.schema.alterTable('challenges').dropColumn('verification_id').execute();
    await db.schema.dropTable('verifications').ifExists().execute();
  },
};
