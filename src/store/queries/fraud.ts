import { PostgresAdapter, sql, type OnConflictBuilder } from 'kysely';
import { createCallBatcher, type CallBatcherOptions } from '../call-batcher.js';
import type { Executor } from '../db.js';
import { letRequestsIn } from '../let-requests-in.js';
import type { Database, FraudDecision, FraudDecisionsTable } from '../schema.js';
import { limitOf, p, pgStatement, prepared, type PreparedQuery } from '../prepared.js';
import { HOUR_MS } from '../../domain/fraud/windows.js';

/** One bucket's counts of a key, as the rules read them. */
export interface CounterRow {
  key: string;
  bucket: number;
  sent: number;
  verified: number;
}

export interface CounterDelta {
  sent: number;
  verified: number;
  segments: number;
  costMicros: number;
}

const q = {
  // Three keys at a time (country, prefix, IP): a fixed shape keeps it one prepared statement;
  // an absent key is passed as '' and matches nothing.
  read3: prepared((db) =>
    db
      .selectFrom('fraud_counters')
      .select(['key', 'bucket', 'sent', 'verified'])
      .where('tenant_id', '=', p('tenant'))
      .where('key', 'in', [p('k1'), p('k2'), p('k3')])
      .where('bucket', '>=', p<number>('since')),
  ),
  keysInRange: prepared((db) =>
    db
      .selectFrom('fraud_counters')
      .select((eb) => ['key', eb.fn.max('bucket').as('bucket')])
      .where('tenant_id', '=', p('tenant'))
      .where('key', '>=', p('from'))
      .where('key', '<', p('to'))
      .where('bucket', '>=', p<number>('since'))
      .groupBy('key')
      .limit(limitOf(300)),
  ),
  // The numbers nearest to one on each side, each side a range of the index read in order from
  // the number outward (a compound select needs its arms' ORDER BY and LIMIT in subqueries).
  nearNumbers: prepared((db) => {
    const side = (toward: 'below' | 'above') =>
      db
        .selectFrom('challenges')
        .select('phone')
        .distinct()
        .where('tenant_id', '=', p('tenant'))
        .where('phone', toward === 'below' ? '>=' : '<', p(toward === 'below' ? 'from' : 'to'))
        .where('phone', toward === 'below' ? '<' : '>', p('phone'))
        .where((eb) => eb(eb.fn('length', [eb.ref('phone')]), '=', p<number>('length')))
        .where('created_at', '>', p<number>('since'))
        .orderBy('phone', toward === 'below' ? 'desc' : 'asc')
        .limit(limitOf(toward));
    return db.selectFrom(side('below').as('b')).select('b.phone').unionAll(db.selectFrom(side('above').as('a')).select('a.phone'));
  }),
  codesOfNumber: prepared((db) =>
    db
      .selectFrom('challenges')
      .select(['verified_at'])
      .where('tenant_id', '=', p('tenant'))
      .where('phone', '=', p('phone'))
      .where('created_at', '>', p<number>('since'))
      .orderBy('created_at', 'desc')
      .limit(limitOf('limit')),
  ),
  active4: prepared((db) =>
    db
      .selectFrom('fraud_decisions')
      .selectAll()
      .where('tenant_id', '=', p('tenant'))
      .where('key', 'in', [p('k1'), p('k2'), p('k3'), p('k4')])
      // A lifted block ended before it expired, so expires_at > liftedSince holds for both kinds
      // of row and keeps the index's range condition.
      .where('expires_at', '>', p<number>('liftedSince'))
      .where((eb) =>
        eb.or([
          eb.and([eb('expires_at', '>', p<number>('now')), eb('lifted_at', 'is', null)]),
          eb('lifted_at', '>', p<number>('liftedSince')),
        ]),
      ),
  ),
  hit: prepared((db) => db.updateTable('fraud_decisions').set((eb) => ({ hits: eb('hits', '+', 1) })).where('id', '=', p('id'))),
};

/** Buckets since `since` of up to three keys ('' for none). */
export async function readCounters(db: Executor, tenantId: string, keys: readonly [string, string, string], since: number): Promise<CounterRow[]> {
  return (await q.read3.execute(db, { tenant: tenantId, k1: keys[0], k2: keys[1], k3: keys[2], since })).rows;
}

/**
 * The distinct keys in [from, to) with a bucket since `since` (an IP's destination countries),
 * each with its newest bucket; at most 300.
 */
export async function keysInRange(db: Executor, tenantId: string, from: string, to: string, since: number): Promise<Array<{ key: string; bucket: number }>> {
  return (await q.keysInRange.execute(db, { tenant: tenantId, from, to, since })).rows.map((r) => ({ key: r.key, bucket: Number(r.bucket) }));
}

/**
 * The distinct numbers as long as `phone` in [from, phone) and (phone, to) sent a code since
 * `since`: at most `below` of the first, the nearest to `phone`, and `above` of the second. One
 * statement, each side a range read on the `challenges_latest` index alone. Test numbers' codes
 * are in it (the caller leaves them out and asks for as many more): `is_test` is not in the
 * index, and reading it cost a row lookup for every code (docs/performance.md, 2026-12-06).
 */
export async function nearestNumbers(
  db: Executor,
  tenantId: string,
  phone: string,
  range: { from: string; to: string },
  since: number,
  limits: { below: number; above: number },
): Promise<string[]> {
  const values = { tenant: tenantId, phone, from: range.from, to: range.to, length: phone.length, since, below: limits.below, above: limits.above };
  return (await q.nearNumbers.execute(db, values)).rows.map((r) => r.phone);
}

/**
 * The codes sent to a number since `since`, newest first, at most `limit`: whether each was
 * verified. A range on `challenges_latest`, read only when the number's latest code went unverified.
 */
export async function codesOfNumber(db: Executor, tenantId: string, phone: string, since: number, limit: number): Promise<Array<{ verified_at: number | null }>> {
  return (await q.codesOfNumber.execute(db, { tenant: tenantId, phone, since, limit })).rows;
}

const addMany = new Map<number, PreparedQuery<unknown>>();

/** A counter row that exists already takes the new row's figures added to its own. */
const addOnConflict = (oc: OnConflictBuilder<Database, 'fraud_counters'>) =>
  oc.columns(['tenant_id', 'key', 'bucket']).doUpdateSet((eb) => ({
    sent: eb('fraud_counters.sent', '+', eb.ref('excluded.sent')),
    verified: eb('fraud_counters.verified', '+', eb.ref('excluded.verified')),
    segments: eb('fraud_counters.segments', '+', eb.ref('excluded.segments')),
    cost_micros: eb('fraud_counters.cost_micros', '+', eb.ref('excluded.cost_micros')),
  }));

/** The upsert of `n` rows in one statement, prepared once per arity. */
function addManyQuery(n: number): PreparedQuery<unknown> {
  let query = addMany.get(n);
  if (!query) {
    query = prepared((db) =>
      db
        .insertInto('fraud_counters')
        .values(
          Array.from({ length: n }, (_, i) => ({
            tenant_id: p('tenant'),
            key: p(`key${i}`),
            bucket: p<number>(`bucket${i}`),
            sent: p<number>(`sent${i}`),
            verified: p<number>(`verified${i}`),
            segments: p<number>(`segments${i}`),
            cost_micros: p<number>(`cost${i}`),
          })),
        )
        .onConflict(addOnConflict),
    );
    addMany.set(n, query);
  }
  return query;
}

/**
 * Adds to several keys' buckets in one statement (one round trip on PostgreSQL). The keys must
 * be distinct, and callers pass them in their byte order (`c:`, `i:`, `p:`, `x:`), the order
 * of every other writer of these rows, so that concurrent transactions lock them in one order.
 */
export async function addToCounters(db: Executor, tenantId: string, entries: ReadonlyArray<{ key: string; bucket: number; delta: CounterDelta }>): Promise<void> {
  if (entries.length === 0) return;
  const values: Record<string, unknown> = { tenant: tenantId };
  entries.forEach((e, i) => {
    values[`key${i}`] = e.key;
    values[`bucket${i}`] = e.bucket;
    values[`sent${i}`] = e.delta.sent;
    values[`verified${i}`] = e.delta.verified;
    values[`segments${i}`] = e.delta.segments;
    values[`cost${i}`] = e.delta.costMicros;
  });
  await addManyQuery(entries.length).execute(db, values);
}

/**
 * Decisions of up to three keys still in force (neither expired nor lifted), and those lifted
 * after `liftedSince` (a lift keeps the traffic before it from re-tripping the key).
 */
export async function activeDecisions(db: Executor, tenantId: string, keys: readonly [string, string, string, string], now: number, liftedSince: number): Promise<FraudDecision[]> {
  return (await q.active4.execute(db, { tenant: tenantId, k1: keys[0], k2: keys[1], k3: keys[2], k4: keys[3], now, liftedSince })).rows;
}

export async function countHit(db: Executor, id: string): Promise<void> {
  await q.hit.execute(db, { id });
}

/** The newest decision of a key that started after `since` (for escalation). */
export async function latestDecisionOf(db: Executor, tenantId: string, key: string, action: FraudDecisionsTable['action'], since: number): Promise<FraudDecision | undefined> {
  return db
    .selectFrom('fraud_decisions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('key', '=', key)
    .where('action', '=', action)
    .where('created_at', '>', since)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function insertDecision(db: Executor, row: FraudDecision): Promise<void> {
  await db.insertInto('fraud_decisions').values(row).execute();
}

export async function findDecision(db: Executor, tenantId: string, id: string): Promise<FraudDecision | undefined> {
  return db.selectFrom('fraud_decisions').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/** Lifts a block in force; false when there is none with that id (or it already ended). */
export async function liftDecision(db: Executor, tenantId: string, id: string, now: number, by: string): Promise<boolean> {
  const r = await db
    .updateTable('fraud_decisions')
    .set({ lifted_at: now, lifted_by: by })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('lifted_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Every decision of a tenant still in force (neither expired nor lifted), any key, and those lifted after `liftedSince`. */
export async function liveDecisions(db: Executor, tenantId: string, now: number, liftedSince: number, fromId: string): Promise<FraudDecision[]> {
  return db
    .selectFrom('fraud_decisions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    // Only decisions made recently can still be in force (see the caller): the tenant's newest
    // ids, not the 90 days of decisions kept.
    .where('id', '>=', fromId)
    .where('expires_at', '>', liftedSince)
    .where((eb) => eb.or([eb.and([eb('expires_at', '>', now), eb('lifted_at', 'is', null)]), eb('lifted_at', '>', liftedSince)]))
    .execute();
}

/** Blocks (action = block) in force, newest first, among those made from `fromId` on. */
export async function listActiveBlocks(db: Executor, tenantId: string, now: number, limit: number, fromId: string): Promise<FraudDecision[]> {
  return db
    .selectFrom('fraud_decisions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '>=', fromId)
    .where('action', '=', 'block')
    .where('expires_at', '>', now)
    .where('lifted_at', 'is', null)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Every decision, newest first, optionally of one action; `beforeId` is the cursor. */
export async function listDecisions(db: Executor, tenantId: string, limit: number, options: { action?: string; beforeId?: string } = {}): Promise<FraudDecision[]> {
  let query = db.selectFrom('fraud_decisions').selectAll().where('tenant_id', '=', tenantId).orderBy('id', 'desc').limit(limit);
  if (options.action) query = query.where('action', '=', options.action as FraudDecisionsTable['action']);
  if (options.beforeId) query = query.where('id', '<', options.beforeId);
  return query.execute();
}

type CounterTotalRow = { key: string; sent: number; verified: number; segments: number; cost_micros: number };

/** A bound on the keys a statement reads: from `key` on, or only past it. */
interface KeyBound {
  key: string;
  past: boolean;
}

/**
 * Per key of one kind (`c:` or `p:`): sums since `since`, most sent first. The rows are read in
 * key order (the primary key: each key's buckets, the window's and older ones alike); with
 * `chunk`, where a read holds the request thread (SQLite), whole keys of about `chunk` rows a
 * statement, the sums sorted here. A busy tenant's prefixes are millions of rows over 30 days.
 */
export async function counterTotals(db: Executor, tenantId: string, keyPrefix: 'c:' | 'p:', since: number, limit: number, chunk?: number): Promise<CounterTotalRow[]> {
  const end = `${keyPrefix.slice(0, -1)};`;
  // One upper bound only: given two, SQLite ranges over one of them and may walk to `end`.
  const keys = (from: KeyBound, to = end) => db.selectFrom('fraud_counters').where('tenant_id', '=', tenantId).where('key', from.past ? '>' : '>=', from.key).where('key', '<', to);
  const sums = (from: KeyBound, to?: string) =>
    keys(from, to)
      .select((eb) => [
        'key',
        eb.fn.sum<number>('sent').as('sent'),
        eb.fn.sum<number>('verified').as('verified'),
        eb.fn.sum<number>('segments').as('segments'),
        eb.fn.sum<number>('cost_micros').as('cost_micros'),
      ])
      .where('bucket', '>=', since)
      .groupBy('key');
  const view = (r: { key: string; sent: unknown; verified: unknown; segments: unknown; cost_micros: unknown }): CounterTotalRow => ({
    key: r.key,
    sent: Number(r.sent),
    verified: Number(r.verified),
    segments: Number(r.segments),
    cost_micros: Number(r.cost_micros),
  });
  const first: KeyBound = { key: keyPrefix, past: false };
  if (chunk === undefined) return (await sums(first).orderBy(sql`sum(sent)`, 'desc').limit(limit).execute()).map(view);

  const totals: CounterTotalRow[] = [];
  let from = first;
  for (;;) {
    // The key of the row `chunk` rows on: this statement reads the keys before it.
    const edge = (await keys(from).select('key').orderBy('key').orderBy('bucket').limit(1).offset(chunk).executeTakeFirst())?.key;
    if (edge === from.key) {
      // One key of more than `chunk` rows (a counter kept longer than the longest window): alone.
      totals.push(...(await sums(from).where('key', '=', edge).execute()).map(view));
      from = { key: edge, past: true };
      await letRequestsIn();
      continue;
    }
    totals.push(...(await sums(from, edge).execute()).map(view));
    if (edge === undefined) break;
    from = { key: edge, past: false };
    await letRequestsIn();
  }
  // As `order by sum(sent) desc`, which leaves ties in no order: here by key, so answers are stable.
  return totals.sort((a, b) => b.sent - a.sent || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).slice(0, limit);
}

/** Deletes counter buckets older than `before`, at most `limit` rows; returns how many went. */
/** Where a walk of `fraud_counters` in key order stopped: the last row it looked at. */
export interface CounterCursor {
  tenant_id: string;
  key: string;
  bucket: number;
}

/**
 * Deletes the buckets older than `before` among the next `scan` counter rows in key order
 * after `after` (from the start without it). There is no index on `bucket` (migration 0012), so
 * old buckets are found by walking the primary key a bounded chunk at a time. Answers the rows
 * deleted and where to go on; `next` is undefined once the walk reached the end of the table.
 */
export async function purgeCountersChunk(db: Executor, before: number, scan: number, after?: CounterCursor): Promise<{ deleted: number; next: CounterCursor | undefined }> {
  const from = after ?? { tenant_id: '', key: '', bucket: -1 };
  const fromRow = sql`(${from.tenant_id}, ${from.key}, ${from.bucket})`;
  const end = await db
    .selectFrom('fraud_counters')
    .select(['tenant_id', 'key', 'bucket'])
    .where(sql<boolean>`(tenant_id, key, bucket) > ${fromRow}`)
    .orderBy('tenant_id')
    .orderBy('key')
    .orderBy('bucket')
    .limit(1)
    .offset(scan - 1)
    .executeTakeFirst();
  let query = db.deleteFrom('fraud_counters').where(sql<boolean>`(tenant_id, key, bucket) > ${fromRow}`).where('bucket', '<', before);
  if (end) query = query.where(sql<boolean>`(tenant_id, key, bucket) <= (${end.tenant_id}, ${end.key}, ${end.bucket})`);
  const r = await query.executeTakeFirst();
  return { deleted: Number(r.numDeletedRows), next: end ? { tenant_id: end.tenant_id, key: end.key, bucket: Number(end.bucket) } : undefined };
}

// Budgets ------------------------------------------------------------------------------------

export interface BudgetRow {
  messages: number;
  spend_micros: number;
}

const b = {
  read: prepared((db) =>
    db
      .selectFrom('fraud_budget_usage')
      .select(['messages', 'spend_micros'])
      .where('tenant_id', '=', p('tenant'))
      .where('period', '=', p('period'))
      .where('start', '=', p<number>('start')),
  ),
  add: prepared((db) =>
    db
      .insertInto('fraud_budget_usage')
      .values({ tenant_id: p('tenant'), period: p('period'), start: p<number>('start'), messages: p<number>('messages'), spend_micros: p<number>('spend') })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'period', 'start']).doUpdateSet((eb) => ({
          messages: eb('fraud_budget_usage.messages', '+', eb.ref('excluded.messages')),
          spend_micros: eb('fraud_budget_usage.spend_micros', '+', eb.ref('excluded.spend_micros')),
        })),
      )
      .returning(['messages', 'spend_micros']),
  ),
};

export async function readBudget(db: Executor, tenantId: string, period: 'day' | 'month', start: number): Promise<BudgetRow> {
  const r = (await b.read.execute(db, { tenant: tenantId, period, start })).rows[0];
  return { messages: Number(r?.messages ?? 0), spend_micros: Number(r?.spend_micros ?? 0) };
}

/** Adds to a period's use (row-locked on PostgreSQL until the transaction ends) and answers the new totals. */
export async function addToBudget(db: Executor, tenantId: string, period: 'day' | 'month', start: number, messages: number, spendMicros: number): Promise<BudgetRow> {
  const r = (await b.add.execute(db, { tenant: tenantId, period, start, messages, spend: spendMicros })).rows[0];
  return { messages: Number(r?.messages ?? 0), spend_micros: Number(r?.spend_micros ?? 0) };
}

/** Deletes usage rows of periods that started before `before`, at most `limit`. */
export async function purgeBudgetUsage(db: Executor, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('fraud_budget_usage')
    .where(({ eb, selectFrom }) =>
      eb(
        sql`(tenant_id, period, start)`,
        'in',
        selectFrom('fraud_budget_usage').select(['tenant_id', 'period', 'start']).where('start', '<', before).limit(limit),
      ),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Deletes decisions that ended before `before`, at most `limit`. */
export async function purgeDecisions(db: Executor, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('fraud_decisions')
    .where('id', 'in', (eb) => eb.selectFrom('fraud_decisions').select('id').where('expires_at', '<', before).limit(limit))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

// Conversions --------------------------------------------------------------------------------

/**
 * Marks a challenge converted if it was not already; true when this call did it. A verified
 * code and a feedback report for the same code count once.
 */
export async function markConverted(db: Executor, challengeId: string, now: number): Promise<boolean> {
  const r = await db.updateTable('challenges').set({ converted_at: now }).where('id', '=', challengeId).where('converted_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** What the fraud guard judges a first code's send from, read in one statement (`guardInputs`). */
export interface GuardInputs {
  /** The phone's newest code for the purpose. */
  latest: { id: string; status: string; created_at: number; verified_at: number | null; expires_at: number } | undefined;
  /** As `activeDecisions` answers for `decisionKeys`. */
  decisions: FraudDecision[];
  /**
   * The keys' counters since `since` (the hour bucket a day before `now`'s), summed where the
   * guard's sliding windows cannot tell buckets apart: a key's buckets of `now`'s hour, of the
   * hour before it, of the first hour (`since`) and any later ones stay as stored; those in
   * between come as one row dated two hours before `now`'s. The hour and day sums
   * (`slidingSum`) and the total are those of the stored rows. Filtered from a later bucket
   * (a lift's), the summed row can only count more than the rows it stands for.
   */
  counters: CounterRow[];
  /**
   * As `keysInRange` answers for the range `pairs` since `since` (the countries the IP sent
   * to); undefined without it.
   */
  pairs: Array<{ key: string; bucket: number }> | undefined;
}

type GuardInputsRow = { latest: GuardInputs['latest'] | null; decisions: FraudDecision[]; counters: CounterRow[]; pairs?: Array<{ key: string; bucket: number }> };

/**
 * The reads of one or several sends in one statement, answered in their order: the phone's
 * latest code, the keys' decisions and the keys' counters of each, on the indexes of
 * `findLatestChallenge`, `activeDecisions`, `readCounters` and, with an IP, `keysInRange`. One plan for the batch, not a
 * function call per send (`otpgate_guard_inputs`, migration 0021); a day of a key's hourly
 * counters comes as at most four rows (`GuardInputs.counters`), not 25 JSON objects.
 */
export const guardInputsManyText = `
  select coalesce(jsonb_agg(jsonb_build_object(
    'latest', (select jsonb_build_object('id', id, 'status', status, 'created_at', created_at, 'verified_at', verified_at, 'expires_at', expires_at)
                 from challenges where tenant_id = x.e->>'tenant' and phone = x.e->>'phone' and purpose = x.e->>'purpose'
                order by created_at desc, id desc limit 1),
    'decisions', (select coalesce(jsonb_agg(to_jsonb(d)), '[]') from fraud_decisions d
                   where d.tenant_id = x.e->>'tenant' and d.key = any(array(select jsonb_array_elements_text(x.e->'decisionKeys')))
                     and d.expires_at > (x.e->>'liftedSince')::bigint
                     and ((d.expires_at > (x.e->>'now')::bigint and d.lifted_at is null) or d.lifted_at > (x.e->>'liftedSince')::bigint)),
    'counters', (select coalesce(jsonb_agg(jsonb_build_object('key', s.key, 'bucket', s.bucket, 'sent', s.sent, 'verified', s.verified)), '[]')
                   from (select c.key,
                                case when c.bucket >= x.hour - ${HOUR_MS} or c.bucket = (x.e->>'since')::bigint then c.bucket
                                     else x.hour - ${2 * HOUR_MS} end as bucket,
                                sum(c.sent) as sent, sum(c.verified) as verified
                           from fraud_counters c
                          where c.tenant_id = x.e->>'tenant' and c.key = any(array(select jsonb_array_elements_text(x.e->'counterKeys')))
                            and c.bucket >= (x.e->>'since')::bigint
                          group by 1, 2) s)
  ) || case when x.e ? 'pairs' then jsonb_build_object(
    'pairs', (select coalesce(jsonb_agg(jsonb_build_object('key', k.key, 'bucket', k.bucket)), '[]')
                from (select f.key, max(f.bucket) as bucket from fraud_counters f
                       where f.tenant_id = x.e->>'tenant' and f.key >= x.e->'pairs'->>'from' and f.key < x.e->'pairs'->>'to'
                         and f.bucket >= (x.e->>'since')::bigint
                       group by f.key limit 300) k)) else '{}'::jsonb end
  order by x.n), '[]') as r
  from (select e, n, (e->>'now')::bigint / ${HOUR_MS} * ${HOUR_MS} as hour
          from jsonb_array_elements($1::jsonb) with ordinality as t(e, n)) x`;
const guardInputsManyCall = pgStatement<{ r: GuardInputsRow[] }>(guardInputsManyText);

export interface GuardInputsArgs {
  tenant: string;
  phone: string;
  purpose: string;
  decisionKeys: readonly [string, string, string, string];
  now: number;
  liftedSince: number;
  counterKeys: readonly [string, string, string];
  /** The hour bucket a day before `now`'s. */
  since: number;
  /** The range of keys of the IP's countries, [from, to), when the send has an IP. */
  pairs?: { from: string; to: string };
}

// jsonb numbers (bigint and sum() included) arrive as JSON numbers: the rows are used as parsed.
const guardInputsOf = (row: GuardInputsRow): GuardInputs => ({ latest: row.latest ?? undefined, decisions: row.decisions, counters: row.counters, pairs: row.pairs });

async function guardInputsOfMany(db: Executor, args: readonly GuardInputsArgs[]): Promise<GuardInputs[]> {
  return (await guardInputsManyCall.execute(db, [JSON.stringify(args)])).rows[0]!.r.map(guardInputsOf);
}

export async function guardInputs(db: Executor, a: GuardInputsArgs): Promise<GuardInputs> {
  return (await guardInputsOfMany(db, [a]))[0]!;
}

/**
 * The guard's reads in batches (src/store/call-batcher.ts): the reads of concurrent sends go
 * together in one statement, each answered as `guardInputs` would answer it.
 */
export function createGuardInputsBatcher(db: Executor, options: CallBatcherOptions = {}) {
  const batcher = createCallBatcher<GuardInputsArgs, GuardInputs>(
    {
      alone: (args) => guardInputs(db, args),
      together: (args) => guardInputsOfMany(db, args),
    },
    options,
  );
  return { read: batcher.call };
}

/**
 * Adds to the buckets of several tenants' keys in one statement (the counter batcher). The
 * rows must be distinct by tenant, key and bucket, in one fixed order.
 */
export async function addToCountersOfTenants(
  db: Executor,
  rows: ReadonlyArray<{ tenant_id: string; key: string; bucket: number; sent: number; verified: number; segments: number; cost_micros: number }>,
): Promise<void> {
  if (rows.length === 0) return;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await addToCountersOfTenantsPg.execute(db, [JSON.stringify(rows)]);
    return;
  }
  await db
    .insertInto('fraud_counters')
    .values([...rows])
    .onConflict(addOnConflict)
    .execute();
}

/** The same upsert on PostgreSQL in one text for any number of rows, prepared once (src/store/prepared.ts), taken in the rows' order. */
const addToCountersOfTenantsPg = pgStatement(
  `insert into fraud_counters (tenant_id, key, bucket, sent, verified, segments, cost_micros)
   select r.tenant_id, r.key, r.bucket, r.sent, r.verified, r.segments, r.cost_micros
     from jsonb_populate_recordset(null::fraud_counters, $1::jsonb) with ordinality as r
    order by r.ordinality
   on conflict (tenant_id, key, bucket) do update set
     sent = fraud_counters.sent + excluded.sent, verified = fraud_counters.verified + excluded.verified,
     segments = fraud_counters.segments + excluded.segments, cost_micros = fraud_counters.cost_micros + excluded.cost_micros`,
);
