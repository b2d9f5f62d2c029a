import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: `otpgate_send(p jsonb) returns jsonb`, a passcode send in one statement
 * (docs/architecture.md "The send on PostgreSQL"). Called in autocommit, it is its own
 * transaction: the per-phone advisory lock (and the per-IP one when the hourly caps are counted
 * in the store), the idempotency check, the cooldown and the caps, the supersede or join of the
 * open verification and the inserts, with no round trip between them. The caller precomputes
 * every row (code hash, sealed text, ids); the function only decides and writes.
 *
 * Answers `{"outcome": …}`: `accepted` (with `verification_id`), `cooldown` (with
 * `resend_available_at`), `phone_cap` / `ip_cap` (with `oldest`, the oldest send of the hour),
 * `race` (the idempotency key was stored meanwhile) or `fallback` (a `same_code` resend, which
 * repeats a code only the application can open). A refusal writes nothing. A lost race on the
 * idempotency key's insert raises SQLSTATE OG001, rolling back the whole send.
 */
export const m0017PgSendFunction = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`
create or replace function otpgate_send(p jsonb) returns jsonb
-- Volatile (the default): each statement sees what committed before it, so the reads after
-- the lock see the send that held it.
language plpgsql volatile as $fn$
declare
  v_tenant text := p->>'tenant_id';
  v_phone text := p->>'phone';
  v_purpose text := p->>'purpose';
  v_now bigint := (p->>'now')::bigint;
  v_ip text := p->>'client_ip';
  v_idem text := p->>'idempotency_key';
  v_locked_at bigint;
  v_latest challenges%rowtype;
  v_open verifications%rowtype;
  v_valid boolean := false;
  v_joins boolean := false;
  v_vid text;
  v_n bigint;
  v_oldest bigint;
  v_inserted int;
  v_ch jsonb := p->'challenge';
  v_msg jsonb := p->'message';
  v_ver jsonb := p->'verification';
  v_ik jsonb := p->'idempotency';
  v_expires bigint := (p->'challenge'->>'expires_at')::bigint;
begin
  perform pg_advisory_xact_lock(hashtextextended(v_tenant || ':' || v_phone, 0));
  -- A concurrent request with the same key may have committed while this one waited.
  if v_idem is not null and exists (
    select 1 from idempotency_keys where tenant_id = v_tenant and key = v_idem and expires_at > v_now
  ) then
    return jsonb_build_object('outcome', 'race');
  end if;

  select * into v_latest from challenges
   where tenant_id = v_tenant and phone = v_phone and purpose = v_purpose
   order by created_at desc, id desc limit 1;

  -- The time after the lock: another send, from a request that came later, may have just
  -- committed. With a wall clock it is read again here (the caller's now plus the wait, or the
  -- server's clock if later); a test's clock stands still.
  v_locked_at := case when (p->>'live_clock')::boolean
    then greatest(
      v_now + floor(extract(epoch from clock_timestamp() - statement_timestamp()) * 1000)::bigint,
      floor(extract(epoch from clock_timestamp()) * 1000)::bigint)
    else v_now end;
  if v_latest.id is not null and v_latest.status = 'pending'
     and v_latest.resend_available_at > v_locked_at and v_latest.expires_at > v_locked_at then
    return jsonb_build_object('outcome', 'cooldown', 'resend_available_at', v_latest.resend_available_at);
  end if;

  if (p->>'count_caps')::boolean then
    select count(*) into v_n from challenges
     where tenant_id = v_tenant and phone = v_phone and created_at > v_now - 3600000;
    if v_n >= (p->>'max_per_phone')::bigint then
      select created_at into v_oldest from challenges
       where tenant_id = v_tenant and phone = v_phone and created_at > v_now - 3600000
       order by created_at limit 1;
      return jsonb_build_object('outcome', 'phone_cap', 'oldest', v_oldest);
    end if;
    if v_ip is not null then
      perform pg_advisory_xact_lock(hashtextextended(v_tenant || ':ip:' || v_ip, 0));
      select count(*) into v_n from challenges
       where tenant_id = v_tenant and client_ip = v_ip and created_at > v_now - 3600000;
      if v_n >= (p->>'max_per_ip')::bigint then
        select created_at into v_oldest from challenges
         where tenant_id = v_tenant and client_ip = v_ip and created_at > v_now - 3600000
         order by created_at limit 1;
        return jsonb_build_object('outcome', 'ip_cap', 'oldest', v_oldest);
      end if;
    end if;
  end if;

  -- The open verification, if the latest send belongs to one that is still valid.
  if v_latest.id is not null and v_latest.status = 'pending' and v_latest.verification_id is not null then
    select * into v_open from verifications where tenant_id = v_tenant and id = v_latest.verification_id;
    v_valid := v_open.id is not null and v_open.status = 'pending' and v_open.expires_at > v_now;
  end if;
  v_joins := v_valid
    and v_open.amount is not distinct from (p->>'amount')
    and v_open.payee is not distinct from (p->>'payee');
  if v_joins and p->>'resend_policy' = 'same_code' then
    return jsonb_build_object('outcome', 'fallback');
  end if;

  if v_joins then
    v_vid := v_open.id;
    update verifications set expires_at = greatest(expires_at, v_expires), updated_at = v_now where id = v_vid;
  else
    if v_valid then
      update verifications set status = 'canceled', updated_at = v_now, code_sealed = null
       where id = v_open.id and status = 'pending';
      update challenges set status = 'superseded' where verification_id = v_open.id and status = 'pending';
    elsif v_latest.id is not null and v_latest.status = 'pending' then
      update challenges set status = 'superseded' where id = v_latest.id and status = 'pending';
    end if;
    v_vid := v_ver->>'id';
    insert into verifications (id, tenant_id, phone, purpose, status, attempts, max_attempts, code_sealed, amount, payee,
                               created_at, updated_at, expires_at, approved_at)
    select id, tenant_id, phone, purpose, status, attempts, max_attempts, code_sealed, amount, payee,
           created_at, updated_at, expires_at, approved_at
      from jsonb_populate_record(null::verifications, v_ver);
  end if;

  insert into challenges (id, tenant_id, phone, purpose, code_hash, status, attempts, max_attempts, client_ip, is_test,
                          message_id, created_at, expires_at, resend_available_at, verified_at, verification_id)
  select id, tenant_id, phone, purpose, code_hash, status, attempts, max_attempts, client_ip, is_test,
         message_id, created_at, expires_at, resend_available_at, verified_at, v_vid
    from jsonb_populate_record(null::challenges, v_ch);
  if v_joins then
    -- Only the newest codes of a verification verify: older ones leave it.
    update challenges set status = 'superseded' where id in (
      select id from challenges where verification_id = v_vid and status = 'pending'
       order by created_at desc, id desc offset (p->>'live_codes')::int limit 1
    ) and status = 'pending';
  end if;

  insert into messages (id, tenant_id, kind, challenge_id, purpose, to_phone, body_sealed, body_masked, sender_id, encoding,
                        segments, status, attempts, chain_index, chain_attempts, next_attempt_at, lease_until, lease_owner,
                        expires_at, provider, provider_message_id, error_kind, error_code, error_message, created_at, updated_at,
                        sent_at, delivered_at)
  select id, tenant_id, kind, challenge_id, purpose, to_phone, body_sealed, body_masked, sender_id, encoding,
         segments, status, attempts, chain_index, chain_attempts, next_attempt_at, lease_until, lease_owner,
         expires_at, provider, provider_message_id, error_kind, error_code, error_message, created_at, updated_at,
         sent_at, delivered_at
    from jsonb_populate_record(null::messages, v_msg);

  if v_ik is not null and jsonb_typeof(v_ik) = 'object' then
    -- An expired row may still be there: it gives way to the new request.
    delete from idempotency_keys where tenant_id = v_tenant and key = v_idem and expires_at <= v_now;
    -- The stored answer names the verification this send joined or started.
    insert into idempotency_keys (tenant_id, key, route, request_hash, status_code, response, created_at, expires_at)
    values (v_tenant, v_idem, v_ik->>'route', v_ik->>'request_hash', (v_ik->>'status_code')::int,
            replace(v_ik->>'response', '"' || (v_ver->>'id') || '"', '"' || v_vid || '"'),
            (v_ik->>'created_at')::bigint, (v_ik->>'expires_at')::bigint)
    on conflict do nothing;
    get diagnostics v_inserted = row_count;
    if v_inserted = 0 then
      raise exception 'idempotency key taken' using errcode = 'OG001';
    end if;
  end if;

  return jsonb_build_object('outcome', 'accepted', 'verification_id', v_vid);
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_send(jsonb)`.execute(db);
  },
};
