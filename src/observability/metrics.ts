import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one otpgate instance (its own registry: several instances may share a process in tests). */
export function createMetrics(options: { collectDefaults?: boolean } = {}) {
  const registry = new Registry();
  if (options.collectDefaults) collectDefaultMetrics({ register: registry, prefix: 'otpgate_process_' });
  return {
    registry,
    otpSends: new Counter({
      name: 'otpgate_otp_sends_total',
      help: 'Passcode send requests by outcome (accepted, test_number, rate_limited, cooldown, country_blocked, number_type_blocked, fraud_blocked, budget_exhausted, invalid).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    otpVerifies: new Counter({
      name: 'otpgate_otp_verifies_total',
      help: 'Passcode verifications by outcome (verified, invalid, expired, exhausted, already_verified, superseded, canceled, not_found).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    providerAttempts: new Counter({
      name: 'otpgate_provider_attempts_total',
      help: 'Provider send attempts by provider kind and outcome (accepted or the error kind).',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry],
    }),
    providerLatency: new Histogram({
      name: 'otpgate_provider_latency_seconds',
      help: 'Latency of provider send calls.',
      labelNames: ['provider'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    dispatchLatency: new Histogram({
      name: 'otpgate_dispatch_latency_seconds',
      help: 'Time from enqueue to the provider accepting the message.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    writeHolds: new Histogram({
      name: 'otpgate_sqlite_write_hold_seconds',
      help: 'SQLite with the dispatch worker: how long the group commit started no batch, so that the worker\'s last checkpoint pass could let the write-ahead log start over.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers: [registry],
    }),
    messagesFinal: new Counter({
      name: 'otpgate_messages_final_total',
      help: 'Messages that reached a final dispatch state (sent, failed).',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    sendLimitFallbacks: new Counter({
      name: 'otpgate_send_limit_fallbacks_total',
      help: 'Sends whose hourly caps were counted in the database because Redis (OTPGATE_REDIS_URL) did not answer.',
      registers: [registry],
    }),
    fraudCounterFallbacks: new Counter({
      name: 'otpgate_fraud_counter_fallbacks_total',
      help: 'Fraud guard counter operations (read, keys, add, totals) done in the database because Redis (OTPGATE_REDIS_URL) did not answer.',
      labelNames: ['op'] as const,
      registers: [registry],
    }),
    redisUp: new Gauge({
      name: 'otpgate_redis_up',
      help: 'With OTPGATE_REDIS_URL: 1 while the send caps and fraud guard counters use Redis, 0 while it is skipped after a timeout or refusal (counted in the database).',
      // The dispatch worker never sends, so its 1 must not hide the main thread's 0 in /metrics.
      aggregator: 'min',
      registers: [registry],
    }),
    receiverCalls: new Counter({
      name: 'otpgate_receiver_calls_total',
      help: 'Calls of the platform receivers (/v1/receivers/{platform}/{tenant_id}) by platform and outcome: accepted, not_enabled, unauthenticated, replayed, bad_request, refused (a send refusal: fraud guard, budget, country, provider).',
      labelNames: ['platform', 'outcome'] as const,
      registers: [registry],
    }),
    fraudDecisions: new Counter({
      name: 'otpgate_fraud_decisions_total',
      help: 'Fraud guard decisions by rule and action (block, would_block: a new decision; refused, would_refuse: a send an active one covered).',
      labelNames: ['rule', 'action'] as const,
      registers: [registry],
    }),
    budgetRefusals: new Counter({
      name: 'otpgate_budget_refusals_total',
      help: 'Sends refused because they would pass a tenant budget, by budget.',
      labelNames: ['budget'] as const,
      registers: [registry],
    }),
    budgetThresholds: new Counter({
      name: 'otpgate_budget_threshold_total',
      help: 'Times a tenant budget crossed 80 % of its limit (once per budget and period).',
      labelNames: ['budget'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'otpgate_queue_depth',
      help: 'Messages waiting in the outbox by state (queued, sending), sampled at scrape time.',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
