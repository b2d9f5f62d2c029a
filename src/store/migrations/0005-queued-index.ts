import { sql, type Kysely } from 'kysely';

/**
 * `messages_due` (status, next_attempt_at) becomes `(next_attempt_at) WHERE status = 'queued'`:
 * the dispatcher only ever looks up queued messages by due time (expired leases have
 * `messages_sending_lease`). The old index held every message ever sent and was rewritten on
 * both status changes of each delivery (queued → sending → sent); the partial one holds only
 * the queue: an entry is added when a message is enqueued and removed when it is claimed,
 * and a message that is sent is never in it again. Queries must name the status as a literal
 * (`sql.lit('queued')`) for the planner to match the index predicate.
 */
export const m0005QueuedIndex = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('messages_due').ifExists().execute();
    await db.schema.createIndex('messages_due').on('messages').column('next_attempt_at').where(sql.ref('status'), '=', sql.lit('queued')).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('messages_due').ifExists().execute();
    await db.schema.createIndex('messages_due').on('messages').columns(['status', 'next_attempt_at']).execute();
  },
};
