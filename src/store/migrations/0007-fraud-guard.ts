import type { Kysely } from 'kysely';

/**
 * The fraud guard (DESIGN.md "Fraud guard"):
 * - `fraud_counters`: codes sent, verified, segments and cost per tenant, key and hour bucket.
 *   A key names what is counted: `c:GB` a country, `p:+4477009001` a prefix, `i:203.0.113.7`
 *   a client IP, `x:203.0.113.7|GB` a client IP's destination country. Sends add to the
 *   bucket of their time; a verification adds to the bucket its code was sent in.
 * - `fraud_decisions`: blocks (enforced) and would-blocks (record_only), each with the rule,
 *   the figures that decided it and when it ends.
 * - `fraud_budget_usage`: messages and spend per tenant and UTC day or month.
 * - `challenges.converted_at`: when the code was verified here or reported used elsewhere, so
 *   a conversion counts once.
 */
export const m0007FraudGuard = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('fraud_counters')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('bucket', 'bigint', (c) => c.notNull())
      .addColumn('sent', 'integer', (c) => c.notNull())
      .addColumn('verified', 'integer', (c) => c.notNull())
      .addColumn('segments', 'integer', (c) => c.notNull())
      .addColumn('cost_micros', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('fraud_counters_pk', ['tenant_id', 'key', 'bucket'])
      .execute();
    // Housekeeping drops buckets past the longest window by age.
    await db.schema.createIndex('fraud_counters_bucket').on('fraud_counters').column('bucket').execute();

    await db.schema
      .createTable('fraud_decisions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('rule', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('figures', 'text', (c) => c.notNull())
      .addColumn('level', 'integer', (c) => c.notNull())
      .addColumn('hits', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('lifted_at', 'bigint')
      .addColumn('lifted_by', 'text')
      .execute();
    // Every send looks up the blocks of its country, prefix and IP by key.
    await db.schema.createIndex('fraud_decisions_key').on('fraud_decisions').columns(['tenant_id', 'key', 'expires_at']).execute();
    await db.schema.createIndex('fraud_decisions_tenant').on('fraud_decisions').columns(['tenant_id', 'id']).execute();

    await db.schema
      .createTable('fraud_budget_usage')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('start', 'bigint', (c) => c.notNull())
      .addColumn('messages', 'integer', (c) => c.notNull())
      .addColumn('spend_micros', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('fraud_budget_usage_pk', ['tenant_id', 'period', 'start'])
      .execute();

    await db.schema.alterTable('challenges').addColumn('converted_at', 'bigint').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('challenges').dropColumn('converted_at').execute();
    await db.schema.dropTable('fraud_budget_usage').ifExists().execute();
    await db.schema.dropTable('fraud_decisions').ifExists().execute();
    await db.schema.dropTable('fraud_counters').ifExists().execute();
  },
};
