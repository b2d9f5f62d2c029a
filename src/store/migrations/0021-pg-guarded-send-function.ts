import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: `otpgate_guard_inputs(…) returns jsonb`, what the fraud guard judges a
 * first code's send from, in one call whose plan each connection keeps (the phone's latest code for
 * the purpose, the keys' decisions in force or lifted in the last day, the keys' counters
 * since `since`: `{latest, decisions, counters}`); and
 * `otpgate_send_guarded(p jsonb) returns jsonb`, the one-statement send of a
 * tenant whose fraud guard is on (docs/architecture.md "The send on PostgreSQL"). The
 * application judges the send before the call, from the phone's latest code, the keys'
 * decisions and counters read outside any lock; the call then holds only if the phone's latest
 * code is still the one judged. It takes the per-phone lock (`otpgate_send` takes it again: an
 * advisory lock held twice by one transaction is held once more, not waited for), compares the
 * latest code with `p.expect_latest` and runs `otpgate_send`. The application counts the send
 * once it committed.
 *
 * Answers as `otpgate_send` does; `fallback` as well when the latest code is another one. A
 * send that would join the open verification (the judge assumed a first code) raises SQLSTATE
 * OG003, rolling everything back: the application takes its transaction path for it.
 */
export const m0021PgGuardedSendFunction = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`
create or replace function otpgate_guard_inputs(
  p_tenant text, p_phone text, p_purpose text, p_decision_keys text[], p_now bigint, p_lifted_since bigint,
  p_counter_keys text[], p_since bigint) returns jsonb
language plpgsql stable as $fn$
begin
  return jsonb_build_object(
    'latest', (select jsonb_build_object('id', id, 'status', status, 'created_at', created_at, 'verified_at', verified_at, 'expires_at', expires_at)
                 from challenges where tenant_id = p_tenant and phone = p_phone and purpose = p_purpose
                order by created_at desc, id desc limit 1),
    'decisions', (select coalesce(jsonb_agg(to_jsonb(d)), '[]') from fraud_decisions d
                   where d.tenant_id = p_tenant and d.key = any(p_decision_keys) and d.expires_at > p_lifted_since
                     and ((d.expires_at > p_now and d.lifted_at is null) or d.lifted_at > p_lifted_since)),
    'counters', (select coalesce(jsonb_agg(jsonb_build_object('key', c.key, 'bucket', c.bucket, 'sent', c.sent, 'verified', c.verified)), '[]')
                   from fraud_counters c
                  where c.tenant_id = p_tenant and c.key = any(p_counter_keys) and c.bucket >= p_since));
end
$fn$`.execute(db);
    await sql`
create or replace function otpgate_send_guarded(p jsonb) returns jsonb
language plpgsql volatile as $fn$
declare
  v_tenant text := p->>'tenant_id';
  v_latest text;
  v_answer jsonb;
begin
  perform pg_advisory_xact_lock(hashtextextended(v_tenant || ':' || (p->>'phone'), 0));
  select id into v_latest from challenges
   where tenant_id = v_tenant and phone = p->>'phone' and purpose = p->>'purpose'
   order by created_at desc, id desc limit 1;
  if v_latest is distinct from p->>'expect_latest' then
    return jsonb_build_object('outcome', 'fallback');
  end if;
  v_answer := otpgate_send(p);
  if v_answer->>'outcome' = 'accepted' and v_answer->>'verification_id' <> p->'verification'->>'id' then
    raise exception 'the send joined an open verification' using errcode = 'OG003';
  end if;
  return v_answer;
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_send_guarded(jsonb)`.execute(db);
    await sql`drop function if exists otpgate_guard_inputs(text, text, text, text[], bigint, bigint, text[], bigint)`.execute(db);
  },
};
