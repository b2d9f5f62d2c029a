import type { Kysely } from 'kysely';

/**
 * Replaces `inbox_messages_tenant` (tenant, to_phone, id) with (tenant, id). Keyed by phone,
 * every delivery to the Inbox wrote a random leaf of it; keyed by id, the writes append to the
 * index's last page. The inbox's reads by number walk the tenant's newest rows instead, as the
 * reads of `messages` by number already do: the Inbox is a development provider, its rows go
 * with the messages' retention.
 */
export const m0029InboxTenantOrder = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('inbox_messages_tenant').ifExists().execute();
    await db.schema.createIndex('inbox_messages_tenant_id').ifNotExists().on('inbox_messages').columns(['tenant_id', 'id']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('inbox_messages_tenant_id').ifExists().execute();
    await db.schema.createIndex('inbox_messages_tenant').ifNotExists().on('inbox_messages').columns(['tenant_id', 'to_phone', 'id']).execute();
  },
};
