import type { Config } from '../config/load.js';
import { idFloor, type IdPrefix } from '../domain/ids.js';
import { purgeBudgetUsage, purgeCountersChunk, purgeDecisions, type CounterCursor } from '../store/queries/fraud.js';
import { purgeExpiredIdempotencyKeys } from '../store/queries/idempotency.js';
import { idBoundary, purgeAttempts, purgeAudit, purgeChallenges, purgeEventDeliveries, purgeInbox, purgeMessages, purgeVerifications, type TimedTable } from '../store/queries/lifecycle.js';
import { deletedTenantIds, deleteTenantRow, purgeDeletedTenant } from '../store/queries/tenants.js';
import { expireVerifications } from '../store/queries/verifications.js';
import type { Executor } from '../store/db.js';
import { emptyWriteAheadLog } from '../store/empty-log.js';
import type { ServiceContext } from './context.js';
import { createPhoneHashing } from './phone-hashing.js';

export interface HousekeepingOptions {
  /** Time between runs, ms (default 10 minutes). The first run comes one interval after start. */
  intervalMs?: number;
  /** Rows deleted per write unit at most (default 500; fewer when a unit takes long, see inBatches). */
  batchSize?: number;
  /** Write units per run at most, per task (default 20); what is left waits for the next run. */
  maxBatchesPerRun?: number;
  /** Fraud counter rows walked per write unit (default 10 × batchSize; see purgeFraudCounters). */
  counterScan?: number;
  /**
   * After each write unit, housekeeping waits this many times as long as the unit took before
   * the next one (default 9): it holds the store at most a tenth of the time, so a purge of a
   * large backlog does not crowd out the requests (on SQLite its units share the one writer).
   */
  restFactor?: number;
}

const DAY_MS = 86_400_000;
/** How long one purge unit should hold the store, ms (see inBatches). */
const UNIT_TARGET_MS = 10;
/**
 * A deleted tenant's purge may run this many times the units of another task per run: a large
 * tenant is millions of rows, and nothing else waits for them (about 250,000 rows a run).
 */
const DELETED_TENANT_UNITS_FACTOR = 25;
/**
 * How long the fraud guard's data is kept. Counter buckets: the longest window read (the 30-day
 * stats) and a day more. Budget use: the current and the two previous months. Decisions: 90 days
 * after they ended, so an operator can still look back at last quarter's blocks.
 */
export const FRAUD_COUNTERS_KEEP_MS = 31 * DAY_MS;
export const BUDGET_USAGE_KEEP_MS = 93 * DAY_MS;
export const FRAUD_DECISIONS_KEEP_MS = 90 * DAY_MS;
/** Finished deliveries of events are kept this long for the endpoints' delivery logs (docs/events.md). */
export const EVENT_DELIVERIES_KEEP_MS = 30 * DAY_MS;

/** The retention settings housekeeping reads (docs/data-lifecycle.md); absent: the schema's defaults. */
export type RetentionConfig = Pick<Config, 'codeRetentionDays' | 'messageRetentionDays' | 'auditRetentionDays' | 'phoneRetentionDays'>;
export const defaultRetention: Readonly<RetentionConfig> = Object.freeze({ codeRetentionDays: 7, messageRetentionDays: 30, auditRetentionDays: 365, phoneRetentionDays: undefined });

export interface HousekeepingRun {
  idempotencyKeys: number;
  fraudCounters: number;
  budgetUsage: number;
  fraudDecisions: number;
  /** Pending verifications found expired; their sealed codes (same_code) went with them. */
  expiredVerifications: number;
  /** Challenges and verifications past `OTPGATE_CODE_RETENTION_DAYS` after their expiry. */
  codes: number;
  /** Messages, delivery attempts and inbox items past `OTPGATE_MESSAGE_RETENTION_DAYS`. */
  messages: number;
  /** Audit entries past `OTPGATE_AUDIT_RETENTION_DAYS`. */
  audit: number;
  /** Finished event deliveries past EVENT_DELIVERIES_KEEP_MS. */
  eventDeliveries: number;
  /** Rows whose phone number was replaced by its keyed hash (`OTPGATE_PHONE_RETENTION_DAYS`). */
  hashedPhones: number;
  /** Rows of deleted tenants, and the tenants' own rows once nothing else of theirs was left. */
  deletedTenants: number;
}

/**
 * Background clean-up off the request path: expired `Idempotency-Key` rows (otp-service only
 * replaces an expired key when the same key comes again, so others would stay forever), the
 * fraud guard's counters, budget use and decisions once past their keep time, and the
 * retention of docs/data-lifecycle.md (codes, messages, audit, event deliveries, phone
 * numbers). Every node may run it: deleting the same old rows twice is harmless, and hashing a
 * number twice gives the same value.
 */
export function createHousekeeping(
  ctx: Pick<ServiceContext, 'store' | 'clock' | 'logger'> & { config?: RetentionConfig; phoneKeys?: readonly Buffer[] },
  options: HousekeepingOptions = {},
) {
  const retention = ctx.config ?? defaultRetention;
  const intervalMs = options.intervalMs ?? 600_000;
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatchesPerRun ?? 20;
  // A short walk of the primary key: about a millisecond for 5,000 rows on SQLite.
  const counterScan = options.counterScan ?? batchSize * 10;
  const restFactor = options.restFactor ?? 9;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;
  let stopping = false;

  /**
   * Runs one write unit, then rests `restFactor` times as long as the whole unit took, its
   * wait for the store and its commit included (real time: the clock may be a test's), unless
   * stop() was called. A busy store, or a commit slowed by the purge's own WAL, makes it rest
   * longer. `ms` is the unit's statements alone, for sizing the next unit.
   */
  async function paced<T>(unit: (trx: Executor) => Promise<T>): Promise<{ result: T; ms: number }> {
    let ms = 0;
    const begun = performance.now();
    const result = await ctx.store.writes.write(async (trx) => {
      const started = performance.now();
      const r = await unit(trx);
      ms = performance.now() - started;
      return r;
    });
    const rest = (performance.now() - begun) * restFactor;
    if (rest >= 1 && !stopping) await new Promise((resolve) => setTimeout(resolve, rest));
    return { result, ms };
  }

  /**
   * Runs `purge` in bounded write units until a batch comes back short; returns how many rows
   * went. A unit's size adapts to how long the last one took, between 1 row and `batchSize`,
   * so that one unit holds the store about UNIT_TARGET_MS whatever the table: a row whose
   * indexes are keyed by phone costs a random page write in each (on a large store, far more
   * than a row of a table ordered by time).
   */
  async function inBatches(purge: (trx: Executor, now: number, limit: number) => Promise<number>, units = maxBatches): Promise<number> {
    let total = 0;
    let limit = batchSize;
    for (let i = 0; i < units && !stopping; i++) {
      const now = ctx.clock.now();
      const { result: n, ms } = await paced((trx) => purge(trx, now, limit));
      total += n;
      if (n < limit) break;
      if (ms > UNIT_TARGET_MS) limit = Math.max(1, Math.floor(limit / 2));
      else if (ms < UNIT_TARGET_MS / 2) limit = Math.min(batchSize, limit * 2);
    }
    return total;
  }

  /** Deletes expired idempotency keys in bounded batches; returns how many went. */
  const purgeIdempotencyKeys = () => inBatches((trx, now, limit) => purgeExpiredIdempotencyKeys(trx, now, limit));
  // Counter buckets have no index on their time: each run walks on from where the last one
  // stopped, `counterScan` rows of the key order per write unit, and starts over at the end.
  let counterCursor: CounterCursor | undefined;
  async function purgeFraudCounters(): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches && !stopping; i++) {
      const now = ctx.clock.now();
      const { deleted, next } = (await paced((trx) => purgeCountersChunk(trx, now - FRAUD_COUNTERS_KEEP_MS, counterScan, counterCursor))).result;
      total += deleted;
      counterCursor = next;
      if (!next) break;
    }
    return total;
  }
  const purgeBudget = () => inBatches((trx, now, limit) => purgeBudgetUsage(trx, now - BUDGET_USAGE_KEEP_MS, limit));
  const purgeFraudDecisions = () => inBatches((trx, now, limit) => purgeDecisions(trx, now - FRAUD_DECISIONS_KEEP_MS, limit));
  const endExpiredVerifications = () => inBatches((trx, now, limit) => expireVerifications(trx, now, limit));

  // Retention: a row goes once its own time is past, whole batches at a time. Each table's
  // old rows sit below one id (src/store/queries/lifecycle.ts idBoundary), so every statement
  // stays on the primary key.
  const codeKeepMs = retention.codeRetentionDays * DAY_MS;
  const messageKeepMs = retention.messageRetentionDays * DAY_MS;
  const auditKeepMs = retention.auditRetentionDays * DAY_MS;
  /**
   * Purges `table` below its boundary for `cutoff` with `purge`. With `rewrittenTimes` (a row's
   * time can be set anew after it was made, out of id order), the boundary is at least the id
   * made at `cutoff`: such a row can stop the bisection below rows that are due, and the purge
   * judges every row by its own time anyway.
   */
  async function purgeBelow(
    table: TimedTable,
    prefix: IdPrefix,
    keepMs: number,
    purge: (trx: Executor, beforeId: string, cutoff: number, limit: number) => Promise<number>,
    rewrittenTimes = false,
  ): Promise<number> {
    const cutoff = ctx.clock.now() - keepMs;
    const found = await idBoundary(ctx.store.db, table, cutoff, (t) => idFloor(prefix, t));
    const atCutoff = idFloor(prefix, cutoff);
    const boundary = rewrittenTimes && atCutoff > found ? atCutoff : found;
    return inBatches((trx, _now, limit) => purge(trx, boundary, cutoff, limit));
  }
  const purgeCodes = async () =>
    (await purgeBelow('challenges', 'chl', codeKeepMs, (trx, id, cutoff, limit) => purgeChallenges(trx, id, cutoff, limit))) +
    (await purgeBelow('verifications', 'ver', codeKeepMs, (trx, id, cutoff, limit) => purgeVerifications(trx, id, cutoff, limit)));
  const purgeOldMessages = async () =>
    (await purgeBelow('message_attempts', 'att', messageKeepMs, (trx, id, cutoff, limit) => purgeAttempts(trx, id, cutoff, limit))) +
    (await purgeBelow('messages', 'msg', messageKeepMs, (trx, id, cutoff, limit) => purgeMessages(trx, id, cutoff, limit))) +
    (await purgeBelow('inbox_messages', 'inb', messageKeepMs, (trx, id, cutoff, limit) => purgeInbox(trx, id, cutoff, limit)));
  const purgeOldAudit = () => purgeBelow('audit_log', 'aud', auditKeepMs, (trx, id, cutoff, limit) => purgeAudit(trx, id, cutoff, limit));
  // "Send again" sets a delivery's created_at anew.
  const purgeOldEventDeliveries = () => purgeBelow('event_deliveries', 'evd', EVENT_DELIVERIES_KEEP_MS, (trx, id, cutoff, limit) => purgeEventDeliveries(trx, id, cutoff, limit), true);
  const phoneHashing =
    retention.phoneRetentionDays !== undefined && ctx.phoneKeys?.[0]
      ? createPhoneHashing(ctx, { key: ctx.phoneKeys[0], keepMs: retention.phoneRetentionDays * DAY_MS, batchSize, maxBatches })
      : undefined;

  /**
   * A deleted tenant's rows, in the same paced units, up to DELETED_TENANT_UNITS_FACTOR times
   * `maxBatches` of them per tenant and run (a large tenant takes several runs); then, in a unit
   * that finds no row of it left to delete, its own row, which takes the small tables with it
   * by cascade. Two nodes may do it at once: each unit deletes what is there.
   */
  async function purgeDeletedTenants(): Promise<number> {
    let total = 0;
    for (const id of await deletedTenantIds(ctx.store.db)) {
      if (stopping) break;
      total += await inBatches((trx, _now, limit) => purgeDeletedTenant(trx, id, limit), maxBatches * DELETED_TENANT_UNITS_FACTOR);
      if (stopping) break;
      const { result: gone } = await paced(async (trx) => ((await purgeDeletedTenant(trx, id, 1)) === 0 ? deleteTenantRow(trx, id) : false));
      if (gone) {
        total += 1;
        ctx.logger.info({ tenant_id: id }, 'a deleted tenant’s data is gone');
      }
    }
    return total;
  }

  /** Runs one task; a failure is logged, never thrown (the next run tries again). */
  async function task(name: string, run: () => Promise<number>): Promise<number> {
    try {
      const n = await run();
      if (n > 0) ctx.logger.debug({ purged: n, task: name }, 'housekeeping purged old rows');
      return n;
    } catch (err) {
      ctx.logger.warn({ err_message: (err as Error)?.message, task: name }, 'housekeeping could not purge old rows');
      return 0;
    }
  }

  /** One run of every task. */
  async function runOnce(): Promise<HousekeepingRun> {
    const run: HousekeepingRun = {
      idempotencyKeys: await task('idempotency_keys', purgeIdempotencyKeys),
      fraudCounters: await task('fraud_counters', purgeFraudCounters),
      budgetUsage: await task('fraud_budget_usage', purgeBudget),
      fraudDecisions: await task('fraud_decisions', purgeFraudDecisions),
      expiredVerifications: await task('verifications', endExpiredVerifications),
      codes: await task('codes', purgeCodes),
      messages: await task('messages', purgeOldMessages),
      audit: await task('audit_log', purgeOldAudit),
      eventDeliveries: await task('event_deliveries', purgeOldEventDeliveries),
      hashedPhones: phoneHashing ? await task('phone_hashing', phoneHashing.run) : 0,
      deletedTenants: await task('deleted_tenants', purgeDeletedTenants),
    };
    // What left or lost its number must not stay in SQLite's log either.
    if (Object.values(run).some((n) => n > 0)) await emptyWriteAheadLog(ctx.store, ctx.logger, 'housekeeping');
    return run;
  }

  return {
    runOnce,
    purgeIdempotencyKeys,
    start(): void {
      if (timer) return;
      stopping = false;
      timer = setInterval(() => {
        if (!inFlight) inFlight = runOnce().finally(() => (inFlight = undefined));
      }, intervalMs);
      timer.unref();
    },
    /** Stops the timer and waits for a run in progress. */
    async stop(): Promise<void> {
      stopping = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
  };
}

export type Housekeeping = ReturnType<typeof createHousekeeping>;
