import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: a first code's send judged by the fraud guard is counted in its own
 * statement and commit, not in a second one after it (docs/architecture.md "The send on
 * PostgreSQL"). The batch function of migration 0022 becomes `otpgate_send_batch_unit`,
 * unchanged; `otpgate_send_batch(p jsonb)` now wraps it: an element may carry `counts`, its
 * rows of `fraud_counters` to add, and the counts of the elements accepted are summed per row
 * and added after every send of the batch, in one order of (tenant, key, bucket) by byte, the
 * order the counter batcher (src/services/counter-batcher.ts) takes them in. The rows are
 * locked last, once every phone and IP lock is held, so no transaction waits for a lock while
 * it holds a counter row another one needs.
 */
export const m0026PgSendBatchCounts = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`alter function otpgate_send_batch(jsonb) rename to otpgate_send_batch_unit`.execute(db);
    await sql`
create function otpgate_send_batch(p jsonb) returns jsonb
language plpgsql volatile as $fn$
declare
  v_answers jsonb := otpgate_send_batch_unit(p);
begin
  insert into fraud_counters (tenant_id, key, bucket, sent, verified, segments, cost_micros)
  select r.tenant_id, r.key, r.bucket, sum(r.sent), sum(r.verified), sum(r.segments), sum(r.cost_micros)
    from jsonb_array_elements(p) with ordinality as e(element, i)
   cross join lateral jsonb_populate_recordset(null::fraud_counters, e.element->'counts') as r
   where e.element ? 'counts' and v_answers->(e.i::int - 1)->>'outcome' = 'accepted'
   group by r.tenant_id, r.key, r.bucket
   order by r.tenant_id collate "C", r.key collate "C", r.bucket
  on conflict (tenant_id, key, bucket) do update set
    sent = fraud_counters.sent + excluded.sent, verified = fraud_counters.verified + excluded.verified,
    segments = fraud_counters.segments + excluded.segments, cost_micros = fraud_counters.cost_micros + excluded.cost_micros;
  return v_answers;
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_send_batch(jsonb)`.execute(db);
    await sql`alter function otpgate_send_batch_unit(jsonb) rename to otpgate_send_batch`.execute(db);
  },
};
