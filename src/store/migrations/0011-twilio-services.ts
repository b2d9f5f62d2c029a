import type { Kysely } from 'kysely';

/**
 * Twilio Verify services (docs/twilio-verify.md): a service is a named settings profile of a
 * tenant, reached through the Twilio Verify v2–compatible API under `/v2/Services`. Its
 * verifications are the tenant's, with the service's own `purpose` (`va_` + hex), so two
 * services never share a verification for one phone.
 */
export const m0011TwilioServices = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('twilio_services')
      .addColumn('sid', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('friendly_name', 'text', (c) => c.notNull())
      .addColumn('code_length', 'integer', (c) => c.notNull())
      .addColumn('psd2_enabled', 'integer', (c) => c.notNull())
      .addColumn('custom_code_enabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // Lists go by tenant in creation order; the purpose names the service's verifications.
    await db.schema.createIndex('twilio_services_tenant').on('twilio_services').columns(['tenant_id', 'created_at', 'sid']).execute();
    await db.schema.createIndex('twilio_services_purpose').on('twilio_services').columns(['tenant_id', 'purpose']).unique().execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('twilio_services').ifExists().execute();
  },
};
