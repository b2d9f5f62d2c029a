import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: a batch of delivery outcomes recorded in one statement instead of a
 * transaction of five (BEGIN, the messages' update, the read of the tenants' event endpoints,
 * the attempts' insert, COMMIT): docs/architecture.md "Delivery bookkeeping on PostgreSQL".
 *
 * `otpgate_complete_batch(p jsonb) returns jsonb`: `p` is an array of outcomes
 * `{id, owner, tenant_id, update, attempt?, event?}`, each for a different message. An outcome
 * holds while `owner` still holds its message's lease (status 'sending'); then the columns
 * named in `update` take its values (the others keep theirs), its `attempt` row is inserted,
 * and its `event` `{type, id, payload, delivery_ids}` is queued for every enabled endpoint of
 * the tenant that wants the type, each delivery taking the next of `delivery_ids`. Answers
 * `{"held": [boolean, …]}` in the outcomes' order. When some outcome's tenant has more such
 * endpoints than the ids it brought, nothing is written and it answers
 * `{"need": {tenant_id: endpoints, …}}`, for the caller to call again with enough ids. The call
 * commits with `synchronous_commit` off (below); a caller must not make it inside a transaction
 * of its own, which would commit that way too.
 */
export const m0027PgCompleteBatch = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`
create function otpgate_complete_batch(p jsonb) returns jsonb
language plpgsql volatile as $fn$
declare
  v_need jsonb;
  v_held jsonb;
begin
  -- The call is a transaction of its own; its commit need not wait for the log's flush to disk
  -- (synchronous_commit off for it alone). A database crash may undo the last outcomes
  -- recorded: their messages go out again when their leases end, which at-least-once allows.
  perform set_config('synchronous_commit', 'off', true);
  select jsonb_object_agg(t.tenant_id, t.n) into v_need
    from (select x.e->>'tenant_id' as tenant_id, count(*) as n,
                 jsonb_array_length(x.e->'event'->'delivery_ids') as have
            from jsonb_array_elements(p) with ordinality as x(e, i)
            join event_endpoints ep on ep.tenant_id = x.e->>'tenant_id' and ep.enabled = 1
             and (ep.events is null or ep.events::jsonb ? (x.e->'event'->>'type'))
           where x.e ? 'event'
           group by x.i, x.e) t
   where t.n > t.have;
  if v_need is not null then
    return jsonb_build_object('need', v_need);
  end if;

  with v as (
    select x.e, x.i from jsonb_array_elements(p) with ordinality as x(e, i)
  ), held as (
    update messages m
       set (body_masked, sender_id, encoding, segments, status, attempts, chain_index, chain_attempts,
            next_attempt_at, lease_until, lease_owner, expires_at, provider, provider_message_id,
            error_kind, error_code, error_message, updated_at, sent_at, delivered_at, body_sealed) =
           (select r.body_masked, r.sender_id, r.encoding, r.segments, r.status, r.attempts, r.chain_index,
                   r.chain_attempts, r.next_attempt_at, r.lease_until, r.lease_owner, r.expires_at, r.provider,
                   r.provider_message_id, r.error_kind, r.error_code, r.error_message, r.updated_at, r.sent_at,
                   r.delivered_at, r.body_sealed
              from jsonb_populate_record(m, v.e->'update') r)
      from v
     where m.id = v.e->>'id' and m.status = 'sending' and m.lease_owner = v.e->>'owner'
    returning m.id
  ), attempts as (
    insert into message_attempts (id, message_id, tenant_id, attempt_no, provider, slot, started_at, latency_ms,
                                  outcome, error_kind, provider_code, http_status, error_message, provider_message_id)
    select a.id, a.message_id, a.tenant_id, a.attempt_no, a.provider, a.slot, a.started_at, a.latency_ms,
           a.outcome, a.error_kind, a.provider_code, a.http_status, a.error_message, a.provider_message_id
      from v join held h on h.id = v.e->>'id'
     cross join lateral jsonb_populate_record(null::message_attempts, v.e->'attempt') a
     where jsonb_typeof(v.e->'attempt') = 'object'
  ), events as (
    insert into event_deliveries (id, event_id, tenant_id, endpoint_id, type, payload, status, attempts, next_attempt_at,
                                  lease_owner, lease_until, last_attempt_at, last_http_status, last_error,
                                  created_at, updated_at, delivered_at)
    select v.e->'event'->'delivery_ids'->>(row_number() over (partition by v.i order by ep.id) - 1)::int,
           v.e->'event'->>'id', v.e->>'tenant_id', ep.id, v.e->'event'->>'type', v.e->'event'->>'payload',
           'queued', 0, (v.e->'event'->>'at')::bigint, null, null, null, null, null,
           (v.e->'event'->>'at')::bigint, (v.e->'event'->>'at')::bigint, null
      from v join held h on h.id = v.e->>'id'
      join event_endpoints ep on ep.tenant_id = v.e->>'tenant_id' and ep.enabled = 1
       and (ep.events is null or ep.events::jsonb ? (v.e->'event'->>'type'))
     where v.e ? 'event'
  )
  select coalesce(jsonb_agg(h.id is not null order by v.i), '[]'::jsonb) into v_held
    from v left join held h on h.id = v.e->>'id';
  return jsonb_build_object('held', v_held);
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_complete_batch(jsonb)`.execute(db);
  },
};
