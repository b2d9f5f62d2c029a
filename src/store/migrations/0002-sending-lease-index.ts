import { sql, type Kysely } from 'kysely';

/**
 * A partial index over the leases of messages being sent, for the dispatcher's look for
 * abandoned claims: without it PostgreSQL reads every 'sending' entry of the outbox index left
 * since the last VACUUM. Small: only in-flight messages are in it.
 */
export const m0002SendingLeaseIndex = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createIndex('messages_sending_lease').on('messages').column('lease_until').where(sql.ref('status'), '=', 'sending').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('messages_sending_lease').ifExists().execute();
  },
};
