import type { Kysely } from 'kysely';

/**
 * Events to the tenant's backend (DESIGN.md "Platform receivers and events"; docs/events.md):
 * - `event_endpoints`: a tenant's webhook endpoints: URL, event filter (JSON array, NULL for
 *   every type), the `whsec_` signing secret sealed with the secret box, and during a rotation
 *   the previous one with the time it stops being used.
 * - `event_deliveries`: the outbox, one row per event and endpoint, written in the transaction
 *   of the state change it reports. `event_id` is the `webhook-id` (the same on every retry and
 *   on "send again"); `payload` holds the exact body, so a retry sends the same bytes.
 */
export const m0013Events = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('event_endpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('events', 'text')
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('previous_secret_sealed', 'text')
      .addColumn('previous_secret_until', 'bigint')
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('disabled_reason', 'text')
      .addColumn('failing_since', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // Every emit reads the tenant's endpoints inside the state change's transaction.
    await db.schema.createIndex('event_endpoints_tenant').on('event_endpoints').columns(['tenant_id', 'id']).execute();
    await db.schema
      .createTable('event_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('endpoint_id', 'text', (c) => c.notNull().references('event_endpoints.id').onDelete('cascade'))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'bigint')
      .addColumn('last_attempt_at', 'bigint')
      .addColumn('last_http_status', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('delivered_at', 'bigint')
      .execute();
    // The worker's claims (queued and due; sending with an expired lease) and the per-endpoint log.
    await db.schema.createIndex('event_deliveries_due').on('event_deliveries').columns(['status', 'next_attempt_at']).execute();
    await db.schema.createIndex('event_deliveries_endpoint').on('event_deliveries').columns(['endpoint_id', 'id']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('event_deliveries').ifExists().execute();
    await db.schema.dropTable('event_endpoints').ifExists().execute();
  },
};
