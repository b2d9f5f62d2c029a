import type { Kysely } from 'kysely';

/**
 * `tenants.deleted_at`: a deleted tenant is gone from every read at once, and its rows go in
 * bounded batches afterwards (housekeeping), its own row last. One statement cascading through
 * a large tenant's messages and codes held SQLite's request thread for seconds.
 */
export const m0030TenantDeletion = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('tenants').addColumn('deleted_at', 'bigint').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('tenants').dropColumn('deleted_at').execute();
  },
};
