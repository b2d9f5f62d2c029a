import { purgeBudgetUsage, purgeCounters, purgeDecisions } from '../store/queries/fraud.js';
import { purgeExpiredIdempotencyKeys } from '../store/queries/idempotency.js';
import { expireVerifications } from '../store/queries/verifications.js';
import type { Executor } from '../store/db.js';
import type { ServiceContext } from './context.js';

export interface HousekeepingOptions {
  /** Time between runs, ms (default 10 minutes). The first run comes one interval after start. */
  intervalMs?: number;
  /** Rows deleted per write unit (default 500): one unit never holds the writer for long. */
  batchSize?: number;
  /** Write units per run at most, per task (default 20); what is left waits for the next run. */
  maxBatchesPerRun?: number;
}

const DAY_MS = 86_400_000;
/**
 * How long the fraud guard's data is kept. Counter buckets: the longest window read (the 30-day
 * stats) and a day more. Budget use: the current and the two previous months. Decisions: 90 days
 * after they ended, so an operator can still look back at last quarter's blocks.
 */
export const FRAUD_COUNTERS_KEEP_MS = 31 * DAY_MS;
export const BUDGET_USAGE_KEEP_MS = 93 * DAY_MS;
export const FRAUD_DECISIONS_KEEP_MS = 90 * DAY_MS;

export interface HousekeepingRun {
  idempotencyKeys: number;
  fraudCounters: number;
  budgetUsage: number;
  fraudDecisions: number;
  /** Pending verifications found expired; their sealed codes (same_code) went with them. */
  expiredVerifications: number;
}

/**
 * Background clean-up off the request path: expired `Idempotency-Key` rows (otp-service only
 * replaces an expired key when the same key comes again, so others would stay forever), and the
 * fraud guard's counters, budget use and decisions once past their keep time. Every node may
 * run it: deleting the same old rows twice is harmless.
 */
export function createHousekeeping(ctx: Pick<ServiceContext, 'store' | 'clock' | 'logger'>, options: HousekeepingOptions = {}) {
  const intervalMs = options.intervalMs ?? 600_000;
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatchesPerRun ?? 20;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;

  /** Runs `purge` in bounded write units until a batch comes back short; returns how many rows went. */
  async function inBatches(purge: (trx: Executor, now: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const now = ctx.clock.now();
      const n = await ctx.store.writes.write((trx) => purge(trx, now));
      total += n;
      if (n < batchSize) break;
    }
    return total;
  }

  /** Deletes expired idempotency keys in bounded batches; returns how many went. */
  const purgeIdempotencyKeys = () => inBatches((trx, now) => purgeExpiredIdempotencyKeys(trx, now, batchSize));
  const purgeFraudCounters = () => inBatches((trx, now) => purgeCounters(trx, now - FRAUD_COUNTERS_KEEP_MS, batchSize));
  const purgeBudget = () => inBatches((trx, now) => purgeBudgetUsage(trx, now - BUDGET_USAGE_KEEP_MS, batchSize));
  const purgeFraudDecisions = () => inBatches((trx, now) => purgeDecisions(trx, now - FRAUD_DECISIONS_KEEP_MS, batchSize));
  const endExpiredVerifications = () => inBatches((trx, now) => expireVerifications(trx, now, batchSize));

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
    return {
      idempotencyKeys: await task('idempotency_keys', purgeIdempotencyKeys),
      fraudCounters: await task('fraud_counters', purgeFraudCounters),
      budgetUsage: await task('fraud_budget_usage', purgeBudget),
      fraudDecisions: await task('fraud_decisions', purgeFraudDecisions),
      expiredVerifications: await task('verifications', endExpiredVerifications),
    };
  }

  return {
    runOnce,
    purgeIdempotencyKeys,
    start(): void {
      if (timer) return;
      timer = setInterval(() => {
        if (!inFlight) inFlight = runOnce().finally(() => (inFlight = undefined));
      }, intervalMs);
      timer.unref();
    },
    /** Stops the timer and waits for a run in progress. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
  };
}

export type Housekeeping = ReturnType<typeof createHousekeeping>;
