import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: `otpgate_send_batch(p jsonb) returns jsonb`, several sends in one statement
 * and one commit (docs/architecture.md "The send on PostgreSQL"). `p` is an array of what
 * `otpgate_send` takes, or of what `otpgate_send_guarded` takes (an element with
 * `expect_latest`, the send of a tenant whose fraud guard is on); the answer is the array of
 * their answers, in the same order.
 *
 * It first takes every per-phone lock of the batch, in the order of their keys, then every
 * per-IP lock, in theirs; then it runs `otpgate_send` (or `otpgate_send_guarded`) on each
 * element in turn, which takes them again without waiting. Every other writer takes at most one phone lock and takes it
 * before any IP lock, so no transaction ever holds an IP lock while it waits for a phone lock,
 * and batches wait for each other's locks in one order: no deadlock. A later element sees what
 * the earlier ones wrote, as a later send would (a second send to the same phone in one batch
 * is refused its cooldown).
 *
 * An error in any element (an idempotency key stored meanwhile, OG001; a guarded send that
 * would join the open verification, OG003) rolls the whole batch back; the caller then sends
 * each element on its own.
 */
export const m0022PgSendBatchFunction = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`
create or replace function otpgate_send_batch(p jsonb) returns jsonb
language plpgsql volatile as $fn$
declare
  v_key bigint;
  v_element jsonb;
  v_answers jsonb := '[]'::jsonb;
begin
  for v_key in
    select distinct hashtextextended((e->>'tenant_id') || ':' || (e->>'phone'), 0) as k
      from jsonb_array_elements(p) e order by k
  loop
    perform pg_advisory_xact_lock(v_key);
  end loop;
  for v_key in
    select distinct hashtextextended((e->>'tenant_id') || ':ip:' || (e->>'client_ip'), 0) as k
      from jsonb_array_elements(p) e
     where (e->>'count_caps')::boolean and e->>'client_ip' is not null order by k
  loop
    perform pg_advisory_xact_lock(v_key);
  end loop;
  for v_element in select value from jsonb_array_elements(p) loop
    v_answers := v_answers || jsonb_build_array(
      case when v_element ? 'expect_latest' then otpgate_send_guarded(v_element) else otpgate_send(v_element) end);
  end loop;
  return v_answers;
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_send_batch(jsonb)`.execute(db);
  },
};
