import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.js';
import { mergedMetrics } from '../../dispatcher/worker-host.js';
import type { HealthService } from '../../services/health-service.js';

export function healthRoutes(app: FastifyInstance, deps: Deps, health: HealthService): void {
  app.get('/healthz', { config: { access: 'public' }, schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { access: 'public' }, schema: { hide: true } }, async () => health.readiness());

  app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    await health.sampleQueueDepth();
    const fromWorker = deps.workerMetrics;
    if (!fromWorker) return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    // The dispatch worker counts deliveries, this thread counts requests: one page of both.
    const [main, worker] = await Promise.all([deps.metrics.registry.getMetricsAsJSON(), fromWorker()]);
    return reply.type(deps.metrics.registry.contentType).send(await mergedMetrics(main, worker));
  });
}
