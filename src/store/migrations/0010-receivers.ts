import type { Kysely } from 'kysely';

/**
 * Platform receivers (DESIGN.md "Platform receivers and events"; docs/integrations.md):
 * - `receiver_configs`: per tenant and platform, whether the receiver is on and its one or two
 *   secrets (a JSON array, sealed with the secret box; never returned after the save).
 * - `receiver_replays`: the requests a receiver accepted recently (a webhook id, a signature,
 *   or a hash of the body for platforms that send neither), so a replay is refused. Rows
 *   expire after the replay window and are purged by the receiver itself, so the table holds
 *   at most a few minutes of traffic.
 */
export const m0010Receivers = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('receiver_configs')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('platform', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('secrets_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('receiver_configs_pk', ['tenant_id', 'platform'])
      .execute();
    await db.schema
      .createTable('receiver_replays')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('platform', 'text', (c) => c.notNull())
      .addColumn('replay_key', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('receiver_replays_pk', ['tenant_id', 'platform', 'replay_key'])
      .execute();
    // The purge deletes a receiver's expired keys on each accepted request.
    await db.schema.createIndex('receiver_replays_expiry').on('receiver_replays').columns(['tenant_id', 'platform', 'expires_at']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('receiver_replays').ifExists().execute();
    await db.schema.dropTable('receiver_configs').ifExists().execute();
  },
};
