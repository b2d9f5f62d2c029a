import { idFloorSince, newId } from '../domain/ids.js';
import { countryOfE164 } from '../domain/phone.js';
import { countryDayRule, countryHourRule, type CountryFigures } from '../domain/fraud/country-conversion.js';
import { ipCountriesRule, ipDayRule } from '../domain/fraud/ip.js';
import { numberTypeOf } from '../domain/fraud/number-type.js';
import { numberDayRule, unverifiedSinceLastVerified } from '../domain/fraud/number.js';
import { prefixDayRule, prefixHourRule, prefixOf, prefixVelocityRule, velocityRange } from '../domain/fraud/prefix.js';
import { blockDuration, ESCALATION_WINDOW_MS, MAX_BLOCK_MINUTES } from '../domain/fraud/escalation.js';
import { crossedWarning, exceeds, periodBounds, toMicros, type BudgetPeriod } from '../domain/fraud/budget.js';
import { segmentPrice, type BudgetSettings, type FraudGuardSettings } from '../domain/fraud/settings.js';
import type { BlockKind, Trip } from '../domain/fraud/types.js';
import { bestVerifiedDay, bucketOf, DAY_MS, HOUR_MS, slidingSum, type BucketCounts } from '../domain/fraud/windows.js';
import { AppError } from '../errors/app-error.js';
import type { Metrics } from '../observability/metrics.js';
import type { Executor } from '../store/db.js';
import {
  codesOfNumber,
  activeDecisions,
  createGuardInputsBatcher,
  type CounterRow,
  type GuardInputs,
  addToBudget,
  countHit,
  findDecision,
  insertDecision,
  latestDecisionOf,
  liftDecision,
  listActiveBlocks,
  listDecisions,
  liveDecisions,
  markConverted,
  readBudget,
  nearestNumbers,
} from '../store/queries/fraud.js';
import { findChallenge } from '../store/queries/challenges.js';
import { findMessage } from '../store/queries/messages.js';
import { STATS_CHUNK_ROWS } from '../store/queries/stats.js';
import type { FraudCountersTable, FraudDecision } from '../store/schema.js';
import type { AuditService } from './audit-service.js';
import { actorId, type Actor, type ServiceContext } from './context.js';
import { createCounterBatcher } from './counter-batcher.js';
import { createDbFraudCounters, type CounterEntry, type FraudCounters } from './fraud-counters.js';
import { toPage, type Page } from './pagination.js';
import type { ActiveTenant } from './tenant-service.js';

/** A tenant's test numbers (settings): sends to them are not traffic the guard weighs. */
type TestNumbers = ActiveTenant['settings']['test_numbers'];

export const fraudStatsWindows = ['24h', '7d', '30d'] as const;
export type FraudStatsWindow = (typeof fraudStatsWindows)[number];
const windowHours: Record<FraudStatsWindow, number> = { '24h': 24, '7d': 168, '30d': 720 };

export interface FraudStatsRow {
  sent: number;
  verified: number;
  /** verified ÷ sent (0–1), null when nothing was sent. */
  conversion: number | null;
  segments: number;
  /** segments × `sms_prices` at the time of each send. */
  cost: number;
}

export interface FraudStats {
  window: FraudStatsWindow;
  since: string;
  countries: Array<{ country: string } & FraudStatsRow>;
  prefixes: Array<{ prefix: string } & FraudStatsRow>;
  budget: {
    limits: BudgetSettings;
    day: { messages: number; spend: number; start: string; end: string };
    month: { messages: number; spend: number; start: string; end: string };
  };
}

/** The keys a send is counted and judged under (see migration 0007). */
export interface SendKeys {
  country: string;
  prefix: string;
  ip: string | undefined;
  /** `c:GB`, `p:+4477009001`, `n:+447700900123`, `i:…` ('' without an IP). */
  c: string;
  p: string;
  n: string;
  i: string;
  /** `x:<ip>|<country>` ('' without an IP). */
  x: string;
  /**
   * Set by the tripwires when the `x` key already has this hour's bucket: the IP's destination
   * countries only need each pair's presence, so `count` skips that row's write.
   */
  xInBucket?: boolean;
}

/** Country key of a number with no single region (+800, +882 …). */
const NO_COUNTRY = 'ZZ';

export function sendKeys(e164: string, country: string | undefined, ip: string | undefined, prefixDigits: number): SendKeys {
  const cc = country ?? NO_COUNTRY;
  const prefix = prefixOf(e164, prefixDigits);
  return {
    country: cc,
    prefix,
    ip,
    c: `c:${cc}`,
    p: `p:${prefix}`,
    n: `n:${e164}`,
    i: ip ? `i:${ip}` : '',
    x: ip ? `x:${ip}|${cc}` : '',
  };
}

/** The keys of an IP's countries (`x:<ip>|<country>`): from `x:<ip>|` up to `x:<ip>}` ('}' follows '|'). */
function pairRange(ip: string): { from: string; to: string } {
  return { from: `x:${ip}|`, to: `x:${ip}}` };
}

export interface DecisionView {
  id: string;
  action: 'block' | 'would_block';
  kind: BlockKind;
  key: string;
  rule: string;
  reason: string;
  figures: Record<string, number>;
  level: number;
  hits: number;
  created_at: string;
  expires_at: string;
  lifted_at: string | null;
  lifted_by: string | null;
}

function unscoped(key: string): string {
  return key.slice(2);
}

export function decisionView(d: FraudDecision): DecisionView {
  return {
    id: d.id,
    action: d.action,
    kind: d.kind,
    key: unscoped(d.key),
    rule: d.rule,
    reason: d.reason,
    figures: JSON.parse(d.figures) as Record<string, number>,
    level: d.level,
    hits: d.hits,
    created_at: new Date(d.created_at).toISOString(),
    expires_at: new Date(d.expires_at).toISOString(),
    lifted_at: d.lifted_at === null ? null : new Date(d.lifted_at).toISOString(),
    lifted_by: d.lifted_by,
  };
}

/** The number's latest code for the send's purpose, as the send path read it under its lock. */
export interface LatestCode {
  created_at: number;
  verified_at: number | null;
}

/** A send the guard refused; the write unit returns it so the block it made still commits. */
export interface FraudRefusal {
  decision: FraudDecision;
}

export function refusalError(r: FraudRefusal): AppError {
  const d = r.decision;
  const until = new Date(d.expires_at).toISOString();
  return new AppError('fraud.blocked', `Sends to this ${d.kind === 'ip' ? 'client IP' : d.kind === 'number' ? 'phone number' : d.kind} are blocked by the fraud guard until ${until} (${d.rule}).`, {
    extra: { rule: d.rule, block_id: d.id, blocked_until: until },
  });
}

/**
 * How long a lift is remembered, ms: the longest window a tripwire counts over. Codes sent to a
 * key up to the hour of its lift never count toward its next block.
 */
const LIFT_MEMORY_MS = DAY_MS;

/** How long a node keeps a country's best verified day of the last 14 days, ms. It only changes at midnight UTC and with late verifications. */
const BEST_DAY_CACHE_MS = 10 * 60_000;

/**
 * The fraud guard (DESIGN.md "Fraud guard"; docs/fraud-guard.md). The send path calls
 * `precheck` before its transaction (static policy: number types, countries), then inside the
 * transaction `evaluate` (active blocks and tripwires) and, once the send is accepted, `count`
 * (counters and budgets). Verification calls `converted`.
 */
export function createFraudGuard(ctx: ServiceContext, deps: { metrics: Metrics; audit: AuditService; counters?: FraudCounters }) {
  const { store, clock } = ctx;
  const counters = deps.counters ?? createDbFraudCounters({ cache: !store.capabilities.multiNode, ...(store.capabilities.blockingReads ? { chunk: STATS_CHUNK_ROWS } : {}) });
  const bestDayCache = new Map<string, { value: number; until: number }>();
  // With one node on the store (SQLite), every decision is made and lifted by this process, so
  // a tenant's decisions in force are kept in memory instead of read on each send. With several
  // nodes each send reads them, so that a block made on one node refuses on all at once.
  const liveCache = store.capabilities.multiNode ? undefined : new Map<string, FraudDecision[]>();
  // An IP–country pair (`x:` key) is read for its presence in an hour only: on a single node
  // the pairs this process wrote this hour are remembered, and written once, not per send.
  const pairsWritten = store.capabilities.multiNode ? undefined : { bucket: 0, keys: new Set<string>() };
  // Counted in the database by several nodes: one upsert for the first codes' sends and the
  // verifies that finish together (counter-batcher.ts), so a busy country's row is not updated
  // and locked per request.
  const countsInStore = deps.counters === undefined;
  const batched = store.capabilities.multiNode && countsInStore ? createCounterBatcher(store.db) : undefined;
  // The reads of concurrent first codes' sends share a statement (PostgreSQL).
  const inputsBatcher = createGuardInputsBatcher(store.db, store.availability ? { availability: store.availability } : {});

  /** Counts outside a send's transaction: batched with the others of the moment when several nodes count in the database. */
  async function addCounts(tenantId: string, entries: CounterEntry[]): Promise<void> {
    if (batched) await batched.add(tenantId, entries);
    else await counters.add(store.db, tenantId, entries);
  }

  /** A message's cost in micros under the tenant's `sms_prices` (0 without a price). */
  function costOf(tenant: ActiveTenant, country: string | undefined, segments: number): number {
    return toMicros(segmentPrice(tenant.settings.sms_prices, country)) * segments;
  }

  /**
   * The decisions of the keys in force, and the blocks of those keys lifted in the last 24 h
   * (`lifted_at` set): a lift lets the key's earlier traffic go, see `evaluate`.
   */
  async function decisionsFor(db: Executor, tenantId: string, keys: readonly [string, string, string, string], now: number): Promise<FraudDecision[]> {
    const liftedSince = now - LIFT_MEMORY_MS;
    if (!liveCache) return activeDecisions(db, tenantId, keys, now, liftedSince);
    let rows = liveCache.get(tenantId);
    if (!rows) {
      // A decision in force, or lifted within LIFT_MEMORY_MS, expires after `liftedSince` and
      // lasts at most MAX_BLOCK_MINUTES.
      rows = await liveDecisions(db, tenantId, now, liftedSince, idFloorSince('fgb', liftedSince - MAX_BLOCK_MINUTES * 60_000, now));
      if (liveCache.size > 10_000) liveCache.clear();
      liveCache.set(tenantId, rows);
    }
    return rows.filter((d) => (d.lifted_at === null ? d.expires_at > now : d.lifted_at > liftedSince) && d.key !== '' && keys.includes(d.key));
  }

  /** After a decision is made or lifted: the next send reads the tenant's decisions again. */
  function decisionsChanged(tenantId: string): void {
    liveCache?.delete(tenantId);
  }

  function active(tenant: ActiveTenant): FraudGuardSettings | null {
    const g = tenant.settings.fraud_guard;
    return g.mode === 'off' ? null : g;
  }

  function isSafe(g: FraudGuardSettings, e164: string): boolean {
    for (const entry of g.safe_list) if (e164.startsWith(entry)) return true;
    return false;
  }

  /** Records a decision with its escalated length. */
  async function decide(db: Executor, tenantId: string, g: FraudGuardSettings, trip: Trip, scopedKey: string, action: 'block' | 'would_block', now: number): Promise<FraudDecision> {
    const previous = await latestDecisionOf(db, tenantId, scopedKey, action, now - ESCALATION_WINDOW_MS);
    const { level, minutes } = blockDuration(g.block_minutes, previous?.level);
    const row: FraudDecision = {
      id: newId('fgb'),
      tenant_id: tenantId,
      action,
      kind: trip.kind,
      key: scopedKey,
      rule: trip.rule,
      reason: trip.reason,
      figures: JSON.stringify(trip.figures),
      level,
      hits: 1,
      created_at: now,
      expires_at: now + minutes * 60_000,
      lifted_at: null,
      lifted_by: null,
    };
    await insertDecision(db, row);
    if (action === 'block') await ctx.events.emit(db, tenantId, 'fraud.blocked', { block_id: row.id, rule: row.rule, kind: row.kind, key: unscoped(row.key), reason: row.reason, expires_at: new Date(row.expires_at).toISOString() });
    decisionsChanged(tenantId);
    deps.metrics.fraudDecisions.inc({ rule: trip.rule, action });
    return row;
  }

  /**
   * Static policy, before the send's transaction: blocked number types and countries. Enforced:
   * throws. record_only: records a would-block (once per key and block length) and lets the
   * send through.
   */
  async function precheck(tenant: ActiveTenant, phone: { e164: string; country: string | undefined }): Promise<void> {
    const g = active(tenant);
    if (!g) return;
    let trip: Trip | undefined;
    let error: AppError | undefined;
    if (phone.country !== undefined && g.blocked_countries.includes(phone.country)) {
      trip = { rule: 'country_policy', kind: 'country', key: phone.country, reason: `${phone.country} is in blocked_countries`, figures: {} };
      error = new AppError('phone.country_blocked', `This tenant does not send to ${phone.country}.`);
    } else if (g.blocked_number_types.length > 0) {
      const type = numberTypeOf(phone.e164);
      if (type !== undefined && g.blocked_number_types.includes(type)) {
        trip = { rule: 'number_type', kind: 'number_type', key: type, reason: `${type} numbers are in blocked_number_types`, figures: {} };
        error = new AppError('phone.number_type_blocked', `This tenant does not send to ${type.replace(/_/g, ' ')} numbers.`, { extra: { number_type: type } });
      }
    }
    if (!trip || !error) return;
    if (g.mode === 'enforce') {
      deps.metrics.fraudDecisions.inc({ rule: trip.rule, action: 'refused' });
      throw error;
    }
    const scoped = `${trip.kind === 'number_type' ? 't' : 'c'}:${trip.key}`;
    const now = clock.now();
    const t = trip;
    await store.writes.write(async (trx) => {
      // The country key is shared with the country tripwires: only this rule's would-block in force counts.
      const existing = (await decisionsFor(trx, tenant.id, [scoped, '', '', ''], now)).find((d) => d.rule === t.rule && d.action === 'would_block' && d.lifted_at === null);
      if (existing) {
        await countHit(trx, existing.id);
        deps.metrics.fraudDecisions.inc({ rule: t.rule, action: 'would_refuse' });
      } else {
        await decide(trx, tenant.id, g, t, scoped, 'would_block', now);
      }
    });
  }

  async function bestDay(db: Executor, tenantId: string, key: string, now: number): Promise<number> {
    const cacheKey = `${tenantId}|${key}`;
    const hit = bestDayCache.get(cacheKey);
    const today = Math.floor(now / DAY_MS);
    if (hit && hit.until > now) return hit.value;
    const rows = await counters.read(db, tenantId, [key, '', ''], (today - 14) * DAY_MS);
    const value = bestVerifiedDay(rows, now, 14);
    if (bestDayCache.size > 10_000) bestDayCache.clear();
    // Never past midnight: the day that ends joins the 14.
    bestDayCache.set(cacheKey, { value, until: Math.min(now + BEST_DAY_CACHE_MS, (today + 1) * DAY_MS) });
    return value;
  }

  /** What the guard finds of a send, before it writes anything (see `evaluate`). */
  interface Assessment {
    /** An enforced block in force that covers the send: it is refused, nothing else is judged. */
    block?: FraudDecision;
    /** record_only: would-blocks in force that cover the send, each counted a hit. */
    hits: FraudDecision[];
    /** Tripwires the send trips, in the order they are decided, keys already covered left out. */
    trips: Array<{ trip: Trip; key: string }>;
  }

  /**
   * The reads of `evaluate`, with no write. `ahead`: judged outside the send's lock, from the
   * decisions and counters `judgeAhead` read; the number rule (which counts the phone's own
   * codes, ordered by that lock) cannot be read there, so it answers undefined when it would
   * have to be.
   */
  async function assess(
    db: Executor,
    tenantId: string,
    g: FraudGuardSettings,
    e164: string,
    keys: SendKeys,
    testNumbers: TestNumbers,
    latest: LatestCode | undefined,
    resend: boolean,
    relayed: boolean,
    now: number,
    ahead?: Pick<GuardInputs, 'decisions' | 'counters' | 'pairs'>,
  ): Promise<Assessment | undefined> {
    const enforce = g.mode === 'enforce';
    const covered = new Set<string>();
    const hits: FraudDecision[] = [];
    // Keys an operator lifted a block of: their traffic up to the lift's hour is not held against them again.
    const countFrom = new Map<string, number>();
    for (const d of ahead?.decisions ?? (await decisionsFor(db, tenantId, [keys.n, keys.c, keys.p, keys.i], now))) {
      if (d.lifted_at !== null) {
        countFrom.set(d.key, Math.max(countFrom.get(d.key) ?? 0, d.lifted_at));
        continue;
      }
      // blocked_countries is judged by precheck, before the send's transaction.
      if (d.rule === 'country_policy') continue;
      if (d.action === 'block' && enforce) return { block: d, hits, trips: [] };
      if (d.action === 'would_block' && !enforce) {
        covered.add(d.key);
        hits.push(d);
      }
    }
    if (ahead && numberRuleReads(latest, now)) return undefined;
    // Every send to a number counts toward its own rule, resends included: bombing a victim
    // is a stream of resends.
    const trips: Array<{ trip: Trip; key: string }> = [];
    const numberTrip = await numberTripwire(db, tenantId, g, e164, latest, now, countFrom.get(keys.n));
    if (numberTrip) trips.push({ trip: numberTrip, key: keys.n });
    // A resend adds no unverified code to the wider keys (see count), so it trips none of their rules.
    // The counters read ahead are summed past what a lift's hour can split (GuardInputs.counters),
    // so they could only count more for a lifted key and send the send to its transaction for
    // nothing: a key lifted in the last day is counted from the stored rows.
    const read = [keys.c, keys.p, keys.i].some((k) => countFrom.has(k)) ? undefined : ahead?.counters;
    if (!resend) trips.push(...(await tripwires(db, tenantId, g, e164, keys, testNumbers, now, countFrom, relayed, read, ahead?.pairs)));
    return { hits, trips: trips.filter((t) => !covered.has(t.key)) };
  }

  /**
   * Inside the send's transaction, before anything is written: refuses a send that an active
   * block covers, or that trips a rule (and blocks its key). Answers the refusal, or null to
   * go on. In record_only it records would-blocks and always answers null.
   */
  async function evaluate(
    trx: Executor,
    tenant: ActiveTenant,
    e164: string,
    keys: SendKeys,
    latest: LatestCode | undefined,
    resend = false,
    relayed = false,
  ): Promise<FraudRefusal | null> {
    const g = active(tenant);
    if (!g) return null;
    // The safe list is never blocked by a tripwire, nor by the blocks they made.
    if (isSafe(g, e164)) return null;
    const now = clock.now();
    const enforce = g.mode === 'enforce';
    const a = (await assess(trx, tenant.id, g, e164, keys, tenant.settings.test_numbers, latest, resend, relayed, now))!;
    if (a.block) {
      await countHit(trx, a.block.id);
      deps.metrics.fraudDecisions.inc({ rule: a.block.rule, action: 'refused' });
      return { decision: a.block };
    }
    for (const d of a.hits) {
      await countHit(trx, d.id);
      deps.metrics.fraudDecisions.inc({ rule: d.rule, action: 'would_refuse' });
    }
    const decided = new Set<string>();
    for (const { trip, key } of a.trips) {
      if (decided.has(key)) continue;
      const decision = await decide(trx, tenant.id, g, trip, key, enforce ? 'block' : 'would_block', now);
      if (enforce) return { decision };
      decided.add(key);
    }
    return null;
  }

  /**
   * A first code's send judged before its one-statement write (`otpgate_send_guarded`), from
   * one read made outside any lock (the phone's latest code, the keys' decisions and counters).
   * Answers the latest code judged (null: none) when the guard lets the send through and writes
   * nothing for it (no block, no hit, no trip), so that only its counts remain (`countsAhead`,
   * added by the send's statement); undefined when the send must take its transaction, where `evaluate` judges
   * it again under the lock: a resend or a cooldown of the phone's open code, or a send the
   * guard has something to write for. The keys' decisions and counters are not ordered by the
   * phone's lock in either path; the phone's own codes are, and the statement holds only if its
   * latest code is still the one judged.
   */
  async function judgeAhead(tenant: ActiveTenant, e164: string, purpose: string, keys: SendKeys): Promise<{ latest: string | null } | undefined> {
    const g = active(tenant);
    const now = clock.now();
    const inputs = await inputsBatcher.read({
      tenant: tenant.id,
      phone: e164,
      purpose,
      decisionKeys: [keys.n, keys.c, keys.p, keys.i],
      now,
      liftedSince: now - LIFT_MEMORY_MS,
      counterKeys: [keys.c, keys.p, keys.i],
      since: bucketOf(now) - DAY_MS,
      ...(keys.ip ? { pairs: pairRange(keys.ip) } : {}),
    });
    const latest = inputs.latest;
    if (latest && latest.status === 'pending' && latest.expires_at > now) return undefined;
    if (g && !isSafe(g, e164)) {
      const a = await assess(store.db, tenant.id, g, e164, keys, tenant.settings.test_numbers, latest, false, false, now, inputs);
      if (!a || a.block || a.hits.length > 0 || a.trips.length > 0) return undefined;
    }
    return { latest: latest?.id ?? null };
  }

  function numberRuleReads(latest: LatestCode | undefined, now: number): latest is LatestCode {
    return latest !== undefined && latest.verified_at === null && latest.created_at > now - DAY_MS;
  }

  /**
   * The number rule. Read only when the number's latest code (for this purpose) is recent and
   * unverified: most sends go to a number that verified its last code or has none.
   */
  async function numberTripwire(db: Executor, tenantId: string, g: FraudGuardSettings, e164: string, latest: LatestCode | undefined, now: number, liftedAt: number | undefined): Promise<Trip | null> {
    const t = g.thresholds.number_day;
    if (!numberRuleReads(latest, now)) return null;
    const since = Math.max(now - DAY_MS, liftedAt ?? 0);
    const codes = await codesOfNumber(db, tenantId, e164, since, t.max);
    return numberDayRule(t, e164, unverifiedSinceLastVerified(codes) + 1);
  }

  /**
   * Every tripwire this send would trip, narrowest key first (a prefix before its country).
   * `countFrom` holds the time of a key's last lift: its buckets up to the lift's hour (which
   * holds traffic from before the lift) are left out.
   */
  async function tripwires(
    db: Executor,
    tenantId: string,
    g: FraudGuardSettings,
    e164: string,
    keys: SendKeys,
    testNumbers: TestNumbers,
    now: number,
    countFrom: ReadonlyMap<string, number> = new Map(),
    relayed = false,
    read?: CounterRow[],
    pairs?: Array<{ key: string; bucket: number }>,
  ): Promise<Array<{ trip: Trip; key: string }>> {
    const t = g.thresholds;
    const since = bucketOf(now) - DAY_MS;
    // `read` and `pairs`: the same rows, read with the send's other inputs (`judgeAhead`).
    const rows = read ?? (await counters.read(db, tenantId, [keys.c, keys.p, keys.i], since));
    const firstBucket = (key: string): number => {
      const lifted = countFrom.get(key);
      return lifted === undefined ? -Infinity : bucketOf(lifted) + HOUR_MS;
    };
    const of = (key: string): BucketCounts[] => {
      const from = firstBucket(key);
      return rows.filter((r) => r.key === key && r.bucket >= from);
    };
    const out: Array<{ trip: Trip; key: string }> = [];
    const push = (trip: Trip | null, key: string) => {
      if (trip) out.push({ trip, key });
    };

    const prefixRows = of(keys.p);
    const prefixHour = slidingSum(prefixRows, now, 1);
    const prefixDay = slidingSum(prefixRows, now, 24);
    // Velocity reads the prefix's recent numbers only when there are enough sends to matter.
    const v = t.prefix_velocity;
    if (prefixHour.sent + 1 >= v.numbers) {
      // A run that holds this number is made of numbers within `span` of it, and of its nearest
      // `numbers − 1` on each side at most: the read is bounded by both, however busy the prefix.
      const range = velocityRange(e164, keys.prefix, v.span);
      // The read answers test numbers' codes too (src/store/queries/fraud.ts): they are the
      // tenant's own, not traffic, so they are left out, and each in the range adds a place.
      const tests = testNumbers.map((x) => x.phone_number).filter((n) => n.length === e164.length && n >= range.from && n < range.to);
      const limits = { below: v.numbers - 1 + tests.filter((n) => n < e164).length, above: v.numbers - 1 + tests.filter((n) => n > e164).length };
      const since = Math.max(now - v.window_minutes * 60_000, countFrom.get(keys.p) ?? 0);
      const recent = (await nearestNumbers(db, tenantId, e164, range, since, limits)).filter((n) => !tests.includes(n));
      push(prefixVelocityRule(v, keys.prefix, e164, recent), keys.p);
    }
    // A relayed code is verified where otpgate cannot see it: the rules that weigh unverified
    // codes have nothing to go on, and judge only otpgate's own codes.
    if (!relayed) {
      push(prefixHourRule(t.prefix_hour, keys.prefix, prefixHour, prefixDay.verified), keys.p);
      push(prefixDayRule(t.prefix_day, keys.prefix, prefixDay), keys.p);
    }

    if (keys.ip) {
      const ipRows = of(keys.i);
      // An IP cannot have sent to more countries than it sent codes: most IPs (a user's own)
      // never come near the limit, and their countries are not read.
      const ipSent = ipRows.reduce((n, r) => n + r.sent, 0);
      if (ipSent + 1 > t.ip_countries.max) {
        const range = pairRange(keys.ip);
        const seen = pairs ?? (await counters.keysInRange(db, tenantId, range.from, range.to, since));
        const pair = seen.find((k) => k.key === keys.x);
        keys.xInBucket = pair?.bucket === bucketOf(now);
        const fromIp = firstBucket(keys.i);
        const countries = seen.filter((k) => k.bucket >= fromIp);
        push(ipCountriesRule(t.ip_countries, keys.ip, countries.length + (countries.some((k) => k.key === keys.x) ? 0 : 1)), keys.i);
      }
      if (!relayed) push(ipDayRule(t.ip_day, keys.ip, slidingSum(ipRows, now, 24)), keys.i);
    }
    if (relayed) return out;

    const countryRows = of(keys.c);
    const figures: CountryFigures = {
      country: keys.country,
      day: slidingSum(countryRows, now, 24),
      hour: slidingSum(countryRows, now, 1),
      bestDay: await bestDay(db, tenantId, keys.c, now),
    };
    push(countryHourRule(t.country_hour, figures), keys.c);
    push(countryDayRule(t.country_day, figures), keys.c);
    return out;
  }

  /**
   * Inside the send's transaction, after the challenge and message rows: counts the send under
   * its keys (a `resend` of a still-valid code adds its cost, not another code) and in the
   * tenant's budgets. Throws `budget.exhausted` (rolling the send back)
   * when it would pass a budget.
   */
  async function count(trx: Executor, tenant: ActiveTenant, keys: SendKeys, segments: number, resend = false, relayed = false): Promise<void> {
    const costMicros = await chargeBudgets(trx, tenant, keys.country, segments);
    if (!active(tenant)) return;
    const entries = counterEntries(tenant.id, keys, segments, costMicros, resend || relayed);
    await counters.add(trx, tenant.id, entries);
    const pair = entries.find((e) => e.key === keys.x);
    if (pair && pairsWritten) pairsWritten.keys.add(`${tenant.id}|${pair.key}`);
  }

  /**
   * A send's counts under its country, IP, prefix and IP–country keys, in that order: the byte
   * order of the keys (`c:`, `i:`, `p:`, `x:`), the order in which the counter batcher and the
   * batched send statement (migration 0026) lock the rows, so that no two writers wait for
   * each other's rows. `noCode`: a resend of a still-valid code, or a relayed
   * code, adds its cost but not another code to convert.
   */
  function counterEntries(tenantId: string, keys: SendKeys, segments: number, costMicros: number, noCode: boolean): CounterEntry[] {
    const bucket = bucketOf(clock.now());
    const delta = { sent: noCode ? 0 : 1, verified: 0, segments, costMicros };
    let pair = keys.xInBucket ? '' : keys.x;
    if (pair !== '' && pairsWritten) {
      if (pairsWritten.bucket !== bucket || pairsWritten.keys.size > 100_000) pairsWritten.keys.clear();
      pairsWritten.bucket = bucket;
      if (pairsWritten.keys.has(`${tenantId}|${pair}`)) pair = '';
    }
    return [keys.c, keys.i, keys.p, pair].filter((k) => k !== '').map((key) => ({ key, bucket, delta }));
  }

  /**
   * The counts of a first code's send judged by `judgeAhead`, as rows of `fraud_counters` for
   * its statement to add once it is accepted (migration 0026; no budget: a budget is charged
   * and checked in the send's transaction). Undefined when the guard is off for the tenant.
   */
  function countsAhead(tenant: ActiveTenant, keys: SendKeys, segments: number): FraudCountersTable[] | undefined {
    if (!active(tenant)) return undefined;
    return counterEntries(tenant.id, keys, segments, costOf(tenant, keys.country, segments), false).map((e) => ({
      tenant_id: tenant.id,
      key: e.key,
      bucket: e.bucket,
      sent: e.delta.sent,
      verified: e.delta.verified,
      segments: e.delta.segments,
      cost_micros: e.delta.costMicros,
    }));
  }

  /**
   * Charges one message of `segments` to `country` to the tenant's budgets (a passcode or an
   * event SMS), inside the message's transaction; throws `budget.exhausted` past a limit.
   * Answers the message's cost in micros (0 without prices).
   */
  async function chargeBudgets(trx: Executor, tenant: ActiveTenant, country: string | undefined, segments: number): Promise<number> {
    const now = clock.now();
    const costMicros = costOf(tenant, country, segments);
    const b = tenant.settings.budget;
    if (b.daily_messages === undefined && b.monthly_messages === undefined && b.daily_spend === undefined && b.monthly_spend === undefined) return costMicros;
    // Both periods are charged (or refused) before any 80 % mark is recorded: a send the month
    // refuses must not leave a metric behind for the day it never used.
    const crossings: Crossing[] = [];
    for (const period of ['day', 'month'] as BudgetPeriod[]) crossings.push(...(await chargeBudget(trx, tenant, period, costMicros, now)));
    for (const c of crossings) {
      deps.metrics.budgetThresholds.inc({ budget: c.budget });
      await ctx.events.emit(trx, tenant.id, 'budget.threshold', { budget: c.budget, percent: 80, period_start: new Date(c.start).toISOString(), period_end: new Date(c.end).toISOString() });
      await deps.audit.record(trx, {
        tenantId: tenant.id,
        actor: 'fraud_guard',
        action: 'budget.threshold',
        target: c.budget,
        details: { budget: c.budget, percent: 80, period_start: new Date(c.start).toISOString(), period_end: new Date(c.end).toISOString() },
      });
    }
    return costMicros;
  }

  /** A budget whose 80 % mark this send reaches, in the period it reaches it. */
  type Crossing = { budget: ReturnType<typeof crossedWarning>[number]; start: number; end: number };

  /** Adds the send to the period's use; throws `budget.exhausted` past a limit, else answers the 80 % marks it reaches. */
  async function chargeBudget(trx: Executor, tenant: ActiveTenant, period: BudgetPeriod, costMicros: number, now: number): Promise<Crossing[]> {
    const b = tenant.settings.budget;
    const { start, end } = periodBounds(period, now);
    const add = { messages: 1, spendMicros: costMicros };
    // Added first, then checked: the upsert's row lock orders concurrent sends (PostgreSQL), so
    // the totals it answers are exact; a send over the limit throws and its unit rolls back.
    const after = await addToBudget(trx, tenant.id, period, start, 1, costMicros);
    const prior = { messages: after.messages - 1, spendMicros: after.spend_micros - costMicros };
    const over = exceeds(b, period, prior, add);
    if (over) {
      deps.metrics.budgetRefusals.inc({ budget: over.budget });
      throw new AppError('budget.exhausted', `The tenant's ${over.budget.replace('_', ' ')} budget (${over.limit}) is used up until ${new Date(end).toISOString()}.`, {
        retryAfter: Math.max(1, Math.ceil((end - now) / 1000)),
        extra: { budget: over.budget, limit: over.limit, resets_at: new Date(end).toISOString() },
      });
    }
    return crossedWarning(b, period, prior, { messages: after.messages, spendMicros: after.spend_micros }).map((budget) => ({ budget, start, end }));
  }

  /**
   * `converted` inside the caller's write unit (the verification's approval), when the tenant's
   * guard is off and the count is only the challenge's mark: one write unit per verify, not two.
   * Answers false when the guard is on, and the caller counts with `converted` after its commit.
   */
  async function convertedWithoutGuard(trx: Executor, tenant: ActiveTenant, challenge: { id: string; is_test: number }): Promise<boolean> {
    if (active(tenant)) return false;
    if (challenge.is_test !== 1) await markConverted(trx, challenge.id, clock.now());
    return true;
  }

  type Converted = { id: string; phone: string; client_ip: string | null; created_at: number; is_test: number };

  /** One verified code under the keys of its send, in the bucket it was sent in. */
  function conversionEntries(g: FraudGuardSettings, challenge: Converted) {
    const keys = sendKeys(challenge.phone, countryOfE164(challenge.phone), challenge.client_ip ?? undefined, g.prefix_digits);
    const delta = { sent: 0, verified: 1, segments: 0, costMicros: 0 };
    return [keys.c, keys.p, keys.i].filter((k) => k !== '').map((key) => ({ key, bucket: bucketOf(challenge.created_at), delta }));
  }

  /**
   * A code was verified here, or reported used elsewhere: counts it as converted under the
   * keys of its send, in the bucket it was sent in. Counts once per challenge.
   */
  async function converted(tenant: ActiveTenant, challenge: Converted): Promise<boolean> {
    if (challenge.is_test === 1) return false;
    const g = active(tenant);
    return store.writes.write(async (trx) => {
      if (!(await markConverted(trx, challenge.id, clock.now()))) return false;
      if (g) await counters.add(trx, tenant.id, conversionEntries(g, challenge));
      return true;
    });
  }

  /**
   * Counts a verified code whose conversion mark `otpgate_verify_approve` already wrote; nothing
   * with the guard off. A statement on its own (it has nothing to be atomic with), shared with
   * the sends and verifies that count at the same moment when the counters are the store's.
   */
  async function countConversion(tenant: ActiveTenant, challenge: Converted): Promise<void> {
    const g = active(tenant);
    if (!g || challenge.is_test === 1) return;
    await addCounts(tenant.id, conversionEntries(g, challenge));
  }

  return {
    precheck,
    evaluate,
    judgeAhead,
    count,
    countsAhead,
    /** The counters are the store's (not Redis): a first code's send can be judged ahead of its one statement. */
    countsInStore,
    chargeBudgets,
    converted,
    convertedWithoutGuard,
    countConversion,
    keysFor(tenant: ActiveTenant, e164: string, country: string | undefined, ip: string | undefined): SendKeys {
      return sendKeys(e164, country, ip, tenant.settings.fraud_guard.prefix_digits);
    },

    async listBlocks(tenantId: string): Promise<DecisionView[]> {
      const now = clock.now();
      return (await listActiveBlocks(store.db, tenantId, now, 500, idFloorSince('fgb', now - MAX_BLOCK_MINUTES * 60_000, now))).map(decisionView);
    },

    async lift(tenantId: string, id: string, actor: Actor): Promise<void> {
      const now = clock.now();
      const lifted = await store.writes.write(async (trx) => {
        const d = await findDecision(trx, tenantId, id);
        if (!d || d.action !== 'block' || !(await liftDecision(trx, tenantId, id, now, actorId(actor)))) return undefined;
        decisionsChanged(tenantId);
        await deps.audit.record(trx, { tenantId, actor, action: 'fraud_guard.block_lifted', target: id, details: { rule: d.rule, kind: d.kind, key: unscoped(d.key) } });
        return d;
      });
      if (!lifted) throw new AppError('fraud.block_not_found', `There is no active block ${id} for this tenant.`);
    },

    async listDecisions(tenantId: string, limit: number, options: { action?: 'block' | 'would_block'; cursor?: string }): Promise<Page<DecisionView>> {
      const rows = await listDecisions(store.db, tenantId, limit + 1, { ...(options.action ? { action: options.action } : {}), ...(options.cursor ? { beforeId: options.cursor } : {}) });
      return toPage(rows, limit, decisionView);
    },

    /**
     * Conversion and cost per country and per prefix over a window ending now (hour buckets:
     * the window starts at the top of the hour it reaches back to), and the budget use.
     */
    async stats(tenant: ActiveTenant, window: FraudStatsWindow): Promise<FraudStats> {
      const now = clock.now();
      // The hour that holds `now - window` is counted whole: a send 23 h 59 min ago is in the 24 h.
      const since = bucketOf(now - windowHours[window] * HOUR_MS);
      const row = (r: { key: string; sent: number; verified: number; segments: number; cost_micros: number }) => ({
        key: unscoped(r.key),
        sent: r.sent,
        verified: r.verified,
        conversion: r.sent > 0 ? Math.round((Math.min(r.verified, r.sent) / r.sent) * 1000) / 1000 : null,
        segments: r.segments,
        cost: r.cost_micros / 1_000_000,
      });
      const totals = await counters.totals(store.db, tenant.id, since, { countries: 300, prefixes: 100 });
      const countries = totals.countries.map(row);
      const prefixes = totals.prefixes.map(row);
      return {
        window,
        since: new Date(since).toISOString(),
        countries: countries.map(({ key, ...r }) => ({ country: key, ...r })),
        prefixes: prefixes.map(({ key, ...r }) => ({ prefix: key, ...r })),
        budget: { limits: tenant.settings.budget, ...(await this.budgetUse(tenant)) },
      };
    },

    /**
     * `POST /v1/messages/{id}/feedback`: the tenant checked this message's code itself and it
     * was used, so the tripwires count it as converted. Twice is harmless (`counted` false).
     */
    async feedback(tenant: ActiveTenant, messageId: string): Promise<{ message_id: string; outcome: 'verified'; counted: boolean }> {
      const m = await findMessage(store.db, tenant.id, messageId);
      if (!m) throw new AppError('message.not_found', `There is no message ${messageId}.`);
      if (m.kind !== 'otp' || m.challenge_id === null) throw new AppError('fraud.feedback_not_applicable', 'Only passcode messages take verification feedback.');
      const c = await findChallenge(store.db, tenant.id, m.challenge_id);
      if (!c) throw new AppError('message.not_found', `There is no message ${messageId}.`);
      const counted = await converted(tenant, c);
      return { message_id: m.id, outcome: 'verified', counted };
    },

    /** Budget use of the current day and month. */
    async budgetUse(tenant: ActiveTenant): Promise<Record<'day' | 'month', { messages: number; spend: number; start: string; end: string }>> {
      const now = clock.now();
      const out = {} as Record<'day' | 'month', { messages: number; spend: number; start: string; end: string }>;
      for (const period of ['day', 'month'] as const) {
        const { start, end } = periodBounds(period, now);
        const u = await readBudget(store.db, tenant.id, period, start);
        out[period] = { messages: u.messages, spend: u.spend_micros / 1_000_000, start: new Date(start).toISOString(), end: new Date(end).toISOString() };
      }
      return out;
    },
  };
}

export type FraudGuard = ReturnType<typeof createFraudGuard>;
