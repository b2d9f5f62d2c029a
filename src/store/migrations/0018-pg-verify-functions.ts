import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: a passcode verify in one or two statements instead of nine
 * (docs/architecture.md "The verify on PostgreSQL"). The application holds the key of the
 * codes' HMACs, so it either names the challenge and sends the code's HMAC for it, or reads
 * the candidates first and checks them itself.
 *
 * - `otpgate_verify_named(p jsonb) returns jsonb`: a verify that names its challenge. When that
 *   code is pending, unexpired and its hash is `p.code_hash`, approves as below and answers
 *   `{"approved": true, "converted", "challenge", "verification"}`. A wrong code for the
 *   verification's only live code is counted at once, unless it is the last attempt:
 *   `{"wrong": true, "attempts", "max_attempts"}`. Otherwise (another code of the verification,
 *   the last attempt, an ended one, a lost race) it answers what
 *   `otpgate_verify_read` would, and the application decides from it. The event body carries
 *   `"@verification_id@"` and `"@purpose@"`, filled in here.
 * - `otpgate_verify_read(tenant, challenge_id, phone, purpose, live_codes) returns jsonb`: the
 *   challenge (by id, or the newest for phone and purpose), its verification and, while that is
 *   pending, its newest `live_codes` pending codes: `{challenge, verification, codes}`, or null
 *   when there is no such challenge.
 * - `otpgate_verify_approve(p jsonb) returns jsonb`: approves the verification if, and only if,
 *   it is still pending, unexpired and has attempts left; then closes its codes, marks the
 *   matched code converted (unless a feedback report did first) and queues the
 *   `verification.approved` event for each enabled endpoint that wants it, all in the call's
 *   own transaction. Answers `{"approved": false}` when another request got there first, else
 *   `{"approved": true, "converted": …}`. The caller passes the event's id and body and a few
 *   delivery ids; a tenant with more endpoints wanting the event than ids raises SQLSTATE OG002
 *   (nothing written) and the caller takes the transaction path.
 */
export const m0018PgVerifyFunctions = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`
create or replace function otpgate_verify_read(p_tenant text, p_challenge text, p_phone text, p_purpose text, p_live int)
returns jsonb language plpgsql stable as $fn$
declare
  c challenges%rowtype;
  v verifications%rowtype;
  v_codes jsonb;
begin
  if p_challenge is not null then
    select * into c from challenges where tenant_id = p_tenant and id = p_challenge;
  else
    select * into c from challenges
     where tenant_id = p_tenant and phone = p_phone and purpose = p_purpose
     order by created_at desc, id desc limit 1;
  end if;
  if c.id is null then
    return null;
  end if;
  if c.verification_id is not null then
    select * into v from verifications where tenant_id = p_tenant and id = c.verification_id;
  end if;
  if v.id is null then
    return jsonb_build_object('challenge', to_jsonb(c));
  end if;
  if v.status = 'pending' then
    select coalesce(jsonb_agg(to_jsonb(x) order by x.created_at desc, x.id desc), '[]'::jsonb) into v_codes
      from (select * from challenges where verification_id = v.id and status = 'pending'
             order by created_at desc, id desc limit p_live) x;
  end if;
  return jsonb_build_object('challenge', to_jsonb(c), 'verification', to_jsonb(v), 'codes', coalesce(v_codes, '[]'::jsonb));
end
$fn$`.execute(db);
    await sql`
create or replace function otpgate_verify_approve(p jsonb) returns jsonb
language plpgsql volatile as $fn$
declare
  v_id text := p->>'verification_id';
  v_tenant text := p->>'tenant_id';
  v_now bigint := (p->>'now')::bigint;
  v_cid text := p->>'challenge_id';
  v_type text := p->>'event_type';
  v_ids jsonb := p->'delivery_ids';
  v_n int;
  v_converted boolean := false;
  v_pending boolean;
  v_i int := 0;
  e record;
begin
  update verifications set status = 'approved', approved_at = v_now, updated_at = v_now, code_sealed = null
   where id = v_id and status = 'pending' and expires_at > v_now and attempts < max_attempts;
  get diagnostics v_n = row_count;
  if v_n = 0 then
    return jsonb_build_object('approved', false);
  end if;
  -- The matched code is mostly still pending: then the one update that closes the codes marks
  -- it converted too (a second update would write its row twice). Locked first, so that a
  -- feedback report marking it meanwhile cannot make it count twice.
  if (p->>'mark_converted')::boolean then
    select converted_at is null, status = 'pending' into v_converted, v_pending
      from challenges where id = v_cid for update;
    v_converted := coalesce(v_converted, false);
  end if;
  update challenges
     set status = 'verified', verified_at = v_now,
         converted_at = case when v_converted and id = v_cid then v_now else converted_at end
   where verification_id = v_id and status = 'pending';
  -- A resend superseded it after the code was checked: marked on its own.
  if v_converted and not v_pending then
    update challenges set converted_at = v_now where id = v_cid;
  end if;
  for e in select id from event_endpoints
            where tenant_id = v_tenant and enabled = 1 and (events is null or events::jsonb ? v_type)
            order by id loop
    if v_i >= jsonb_array_length(v_ids) then
      raise exception 'more event endpoints than delivery ids' using errcode = 'OG002';
    end if;
    insert into event_deliveries (id, event_id, tenant_id, endpoint_id, type, payload, status, attempts, next_attempt_at,
                                  lease_owner, lease_until, last_attempt_at, last_http_status, last_error,
                                  created_at, updated_at, delivered_at)
    values (v_ids->>v_i, p->>'event_id', v_tenant, e.id, v_type, p->>'payload', 'queued', 0, v_now,
            null, null, null, null, null, v_now, v_now, null);
    v_i := v_i + 1;
  end loop;
  return jsonb_build_object('approved', true, 'converted', v_converted);
end
$fn$`.execute(db);
    await sql`
create or replace function otpgate_verify_named(p jsonb) returns jsonb
language plpgsql volatile as $fn$
declare
  v_tenant text := p->>'tenant_id';
  v_cid text := p->>'challenge_id';
  v_now bigint := (p->>'now')::bigint;
  c challenges%rowtype;
  v verifications%rowtype;
  v_answer jsonb;
  v_attempts int;
  v_max int;
begin
  select * into c from challenges where tenant_id = v_tenant and id = v_cid;
  -- The named code, pending, unexpired and matching: approve now. A pending code is one of its
  -- verification's newest (older ones are superseded when a resend comes).
  if c.id is not null and c.verification_id is not null and c.status = 'pending' and c.expires_at > v_now
     and c.code_hash = p->>'code_hash' then
    select * into v from verifications where tenant_id = v_tenant and id = c.verification_id;
    if v.id is not null then
      v_answer := otpgate_verify_approve(p || jsonb_build_object(
        'verification_id', v.id,
        'mark_converted', c.is_test <> 1,
        -- The caller could not know these two: it named only the challenge.
        'payload', replace(replace(p->>'payload', '"@verification_id@"', to_json(v.id)::text), '"@purpose@"', to_json(v.purpose)::text)));
      if (v_answer->>'approved')::boolean then
        return v_answer || jsonb_build_object('challenge', to_jsonb(c), 'verification', to_jsonb(v));
      end if;
    end if;
  elsif c.id is not null and c.verification_id is not null and c.status = 'pending' and c.expires_at > v_now
     and not exists (select 1 from challenges o where o.verification_id = c.verification_id and o.status = 'pending'
                      and o.expires_at > v_now and o.id <> c.id) then
    -- A wrong code, and the named code is its verification's only live one (no other could
    -- match): counted here, short of the last attempt, whose ending (codes locked, event) the
    -- application writes.
    update verifications set attempts = attempts + 1, updated_at = v_now
     where tenant_id = v_tenant and id = c.verification_id and status = 'pending' and expires_at > v_now
       and attempts + 1 < max_attempts
     returning attempts, max_attempts into v_attempts, v_max;
    if found then
      return jsonb_build_object('wrong', true, 'attempts', v_attempts, 'max_attempts', v_max);
    end if;
  end if;
  return otpgate_verify_read(v_tenant, v_cid, null, null, (p->>'live_codes')::int);
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_verify_named(jsonb)`.execute(db);
    await sql`drop function if exists otpgate_verify_approve(jsonb)`.execute(db);
    await sql`drop function if exists otpgate_verify_read(text, text, text, text, int)`.execute(db);
  },
};
