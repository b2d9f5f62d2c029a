import { purgeExpiredIdempotencyKeys } from '../store/queries/idempotency.js';
import type { ServiceContext } from './context.js';

export interface HousekeepingOptions {
  /** Time between runs, ms (default 10 minutes). The first run comes one interval after start. */
  intervalMs?: number;
  /** Rows deleted per write unit (default 500): one unit never holds the writer for long. */
  batchSize?: number;
  /** Write units per run at most (default 20); what is left waits for the next run. */
  maxBatchesPerRun?: number;
}

/**
 * Background clean-up off the request path: expired `Idempotency-Key` rows (otp-service only
 * replaces an expired key when the same key comes again, so others would stay forever).
 * Every node may run it: deleting expired rows twice is harmless.
 */
export function createHousekeeping(ctx: Pick<ServiceContext, 'store' | 'clock' | 'logger'>, options: HousekeepingOptions = {}) {
  const intervalMs = options.intervalMs ?? 600_000;
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatchesPerRun ?? 20;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;

  /** Deletes expired idempotency keys in bounded batches; returns how many went. */
  async function purgeIdempotencyKeys(): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const now = ctx.clock.now();
      const n = await ctx.store.writes.write((trx) => purgeExpiredIdempotencyKeys(trx, now, batchSize));
      total += n;
      if (n < batchSize) break;
    }
    return total;
  }

  /** One run of every task; failures are logged, never thrown (the next run tries again). */
  async function runOnce(): Promise<{ idempotencyKeys: number }> {
    try {
      const idempotencyKeys = await purgeIdempotencyKeys();
      if (idempotencyKeys > 0) ctx.logger.debug({ purged: idempotencyKeys }, 'purged expired idempotency keys');
      return { idempotencyKeys };
    } catch (err) {
      ctx.logger.warn({ err_message: (err as Error)?.message }, 'could not purge expired idempotency keys');
      return { idempotencyKeys: 0 };
    }
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
