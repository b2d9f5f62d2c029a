import { AppError } from '../errors/app-error.js';
import type { Metrics } from '../observability/metrics.js';
import { pingStore } from '../store/queries/health.js';
import { countQueued } from '../store/queries/messages.js';
import type { ServiceContext } from './context.js';

/** Seconds a client (an orchestrator's probe) is told to wait when the store does not answer. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** Readiness and the outbox gauges behind `/readyz` and `/metrics`. */
export function createHealthService(ctx: Pick<ServiceContext, 'store'>, deps: { metrics: Metrics }) {
  const { store } = ctx;
  return {
    /** Ready when the database answers; otherwise throws `unavailable` (503, Retry-After). */
    async readiness(): Promise<{ status: 'ready'; store: string }> {
      try {
        await pingStore(store.db);
      } catch (err) {
        throw new AppError('unavailable', 'The database is not reachable.', { retryAfter: UNAVAILABLE_RETRY_AFTER_S, cause: err });
      }
      return { status: 'ready', store: store.description };
    },

    /** Samples the outbox into `otpgate_queue_depth` (queued, sending), at scrape time. */
    async sampleQueueDepth(): Promise<void> {
      const q = await countQueued(store.db);
      deps.metrics.queueDepth.set({ state: 'queued' }, q.queued);
      deps.metrics.queueDepth.set({ state: 'sending' }, q.sending);
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
