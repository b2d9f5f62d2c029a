import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.js';
import { countQueued } from '../../store/queries/messages.js';
import { mergedMetrics } from '../../dispatcher/worker-host.js';
import { AppError } from '../../errors/app-error.js';

export function healthRoutes(app: FastifyInstance, deps: Deps): void {
  app.get('/healthz', { config: { access: 'public' }, schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { access: 'public' }, schema: { hide: true } }, async () => {
    try {
      await sql`select 1`.execute(deps.store.db);
    } catch {
      throw new AppError('unavailable', 'The database is not reachable.', { retryAfter: 5 });
    }
    return { status: 'ready', store: deps.store.description };
  });

  app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    const q = await countQueued(deps.store.db);
    deps.metrics.queueDepth.set({ state: 'queued' }, q.queued);
    deps.metrics.queueDepth.set({ state: 'sending' }, q.sending);
    const fromWorker = deps.workerMetrics;
    if (!fromWorker) return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    // The dispatch worker counts deliveries, this thread counts requests: one page of both.
    const [main, worker] = await Promise.all([deps.metrics.registry.getMetricsAsJSON(), fromWorker()]);
    return reply.type(deps.metrics.registry.contentType).send(await mergedMetrics(main, worker));
  });
}
