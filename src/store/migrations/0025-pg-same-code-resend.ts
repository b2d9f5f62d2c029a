import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: a `same_code` resend in two calls instead of the transaction's ten or so
 * round trips (docs/architecture.md "The send on PostgreSQL"). The function of migration 0017
 * becomes `otpgate_send_unit`, unchanged; `otpgate_send(p jsonb)`, which the batch and the
 * guarded send call by name, now wraps it:
 *
 * - A `fallback` (the send would join an open verification whose code only the application can
 *   open) also names that verification, read under the same per-phone lock: `open` is
 *   `{id, code_sealed, expires_at}`.
 * - A call with `join_verification` carries the rows the application made with that
 *   verification's code and expiry. The unit joins them as it joins a `new_code` resend's own.
 *   If by then the send would start or join another verification, it raises SQLSTATE OG004,
 *   rolling everything back, and the application takes its transaction path.
 */
export const m0025PgSameCodeResend = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`alter function otpgate_send(jsonb) rename to otpgate_send_unit`.execute(db);
    await sql`
create function otpgate_send(p jsonb) returns jsonb
language plpgsql volatile as $fn$
declare
  v_answer jsonb;
  v_open jsonb;
begin
  if p ? 'join_verification' then
    v_answer := otpgate_send_unit(jsonb_set(p, '{resend_policy}', '"new_code"'));
    if v_answer->>'outcome' = 'accepted' and v_answer->>'verification_id' is distinct from p->>'join_verification' then
      raise exception 'the open verification changed' using errcode = 'OG004';
    end if;
    return v_answer;
  end if;
  v_answer := otpgate_send_unit(p);
  if v_answer->>'outcome' = 'fallback' then
    -- The unit's lock is held until the commit: this is the verification it found.
    select jsonb_build_object('id', v.id, 'code_sealed', v.code_sealed, 'expires_at', v.expires_at) into v_open
      from challenges c join verifications v on v.tenant_id = c.tenant_id and v.id = c.verification_id
     where c.tenant_id = p->>'tenant_id' and c.phone = p->>'phone' and c.purpose = p->>'purpose'
     order by c.created_at desc, c.id desc limit 1;
    v_answer := v_answer || jsonb_build_object('open', v_open);
  end if;
  return v_answer;
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_send(jsonb)`.execute(db);
    await sql`alter function otpgate_send_unit(jsonb) rename to otpgate_send`.execute(db);
  },
};
