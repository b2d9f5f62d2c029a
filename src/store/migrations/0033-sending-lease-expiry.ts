import { sql, type Kysely } from 'kysely';

/**
 * `messages_sending_lease` holds only what the claim of expired leases reads: its predicate is
 * now `status = 'sending' and lease_until is not null` (the same rows: a claim always sets a
 * lease), implied by that claim's `lease_until < now` and by no other statement. With
 * `status = 'sending'` alone, a delivery's outcome (`… where id = ? and status = 'sending' and
 * lease_owner = ?`, one by one or in `otpgate_complete_batch`) matched it too, and PostgreSQL,
 * estimating it small, read every message in flight for each batch of outcomes instead of
 * looking each one up by its key (migration 0032 is the same case for verifications).
 */
export const m0033SendingLeaseExpiry = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('messages_sending_lease').ifExists().execute();
    await db.schema
      .createIndex('messages_sending_lease')
      .on('messages')
      .column('lease_until')
      .where((eb) => eb.and([eb(sql.ref('status'), '=', 'sending'), eb(sql.ref('lease_until'), 'is not', null)]))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('messages_sending_lease').ifExists().execute();
    await db.schema.createIndex('messages_sending_lease').on('messages').column('lease_until').where(sql.ref('status'), '=', 'sending').execute();
  },
};
