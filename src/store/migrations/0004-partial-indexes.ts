import { sql, type Kysely } from 'kysely';

/**
 * Two indexes whose key is empty on most inserts become partial, so a send writes two index
 * entries fewer (docs/performance.md):
 * - `challenges_ip` serves the per-IP hourly cap, which looks up `client_ip = ?` only; most
 *   sends carry no `client_ip`.
 * - `messages_provider_id` serves delivery receipts, which look up `provider_message_id = ?`;
 *   a message has none until a provider accepted it.
 * Both engines use a partial `… WHERE x IS NOT NULL` index for an `x = ?` lookup.
 */
export const m0004PartialIndexes = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('challenges_ip').ifExists().execute();
    await db.schema.createIndex('challenges_ip').on('challenges').columns(['tenant_id', 'client_ip', 'created_at']).where(sql.ref('client_ip'), 'is not', null).execute();
    await db.schema.dropIndex('messages_provider_id').ifExists().execute();
    await db.schema
      .createIndex('messages_provider_id')
      .on('messages')
      .columns(['provider', 'provider_message_id'])
      .where(sql.ref('provider_message_id'), 'is not', null)
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('challenges_ip').ifExists().execute();
    await db.schema.createIndex('challenges_ip').on('challenges').columns(['tenant_id', 'client_ip', 'created_at']).execute();
    await db.schema.dropIndex('messages_provider_id').ifExists().execute();
    await db.schema.createIndex('messages_provider_id').on('messages').columns(['provider', 'provider_message_id']).execute();
  },
};
