import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: a dispatcher's claim of due messages as a function,
 * `otpgate_claim(owner, now, lease_until, limit, expired)`, so that its commit need not wait
 * for the write-ahead log's flush (docs/architecture.md "Delivery bookkeeping on PostgreSQL").
 * It is the statement `claimDueMessages` made before (src/store/queries/messages.ts), with
 * `synchronous_commit` off for the call's own transaction: a database crash may undo the last
 * claims, whose messages are then due again and go out again, which at-least-once delivery
 * allows. `expired` takes messages whose lease ran out instead of queued ones, each kind on its
 * own partial index. Made inside a transaction, the call turns the flush off for all of it: the
 * one such caller is a batch of the dispatch worker's writes (src/dispatcher/remote-writes.ts),
 * which holds only the dispatcher's own bookkeeping.
 */
export const m0028PgClaimFunction = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`
create function otpgate_claim(p_owner text, p_now bigint, p_lease_until bigint, p_limit int, p_expired boolean)
returns table (id text, tenant_id text, to_phone text, body_sealed text, sender_id text, attempts integer,
               chain_index integer, chain_attempts integer, expires_at bigint, created_at bigint)
language plpgsql volatile as $fn$
#variable_conflict use_column
begin
  perform set_config('synchronous_commit', 'off', true);
  if p_expired then
    return query
      update messages m set status = 'sending', lease_owner = p_owner, lease_until = p_lease_until, updated_at = p_now
       where m.id in (select s.id from messages s where s.status = 'sending' and s.lease_until < p_now
                       order by s.lease_until limit p_limit for update skip locked)
      returning m.id, m.tenant_id, m.to_phone, m.body_sealed, m.sender_id, m.attempts, m.chain_index,
                m.chain_attempts, m.expires_at, m.created_at;
  else
    return query
      update messages m set status = 'sending', lease_owner = p_owner, lease_until = p_lease_until, updated_at = p_now
       where m.id in (select q.id from messages q where q.status = 'queued' and q.next_attempt_at <= p_now
                       order by q.next_attempt_at limit p_limit for update skip locked)
      returning m.id, m.tenant_id, m.to_phone, m.body_sealed, m.sender_id, m.attempts, m.chain_index,
                m.chain_attempts, m.expires_at, m.created_at;
  end if;
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_claim(text, bigint, bigint, int, boolean)`.execute(db);
  },
};
