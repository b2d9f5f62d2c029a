import { hkdfSync } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import { ConfigError } from './config/load.js';
import { resolveDefaultProvider } from './config/default-provider.js';
import { createSecretBox, parseSecretKeys } from './crypto/secret-box.js';
import { systemClock, type Clock } from './domain/clock.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { createHttpClient, type HttpClient, type OutboundPolicy } from './providers/http.js';
import { receiptKinds } from './providers/registry.js';
import type { ProviderContext } from './providers/types.js';
import { createStore, type Store } from './store/db.js';
import { createRedisFraudCounters } from './store/fraud-counters-redis.js';
import { STATS_CHUNK_ROWS } from './store/queries/stats.js';
import { createRedisBreaker } from './store/redis-breaker.js';
import { createRedisSendLimiter, type SendLimiter } from './store/send-limits.js';
import { createAuditService } from './services/audit-service.js';
import { createApiKeyService } from './services/api-key-service.js';
import type { ServiceContext } from './services/context.js';
import { createDbFraudCounters } from './services/fraud-counters.js';
import { createFraudGuard, type FraudGuard } from './services/fraud-guard.js';
import { createMessageService } from './services/message-service.js';
import { createOtpService } from './services/otp-service.js';
import { createProviderConfigService, type PlatformProvider } from './services/provider-config-service.js';
import { createReceiptService } from './services/receipt-service.js';
import { createReceiverService } from './services/receiver-service.js';
import { createPhoneDataService } from './services/phone-data-service.js';
import { createStatsService } from './services/stats-service.js';
import { createTemplateService } from './services/template-service.js';
import { createTenantService } from './services/tenant-service.js';
import { createOperatorService } from './services/operator-service.js';
import { createSsoService, parseRoleMap } from './services/sso-service.js';
import { createOutcomeBatcher } from './dispatcher/outcome-batcher.js';
import { createCircuitBreaker } from './dispatcher/circuit-breaker.js';
import { deliverMessage } from './dispatcher/deliver.js';
import { drainController } from './dispatcher/drain.js';
import { createDispatcher } from './dispatcher/dispatcher.js';
import { createEventWorker } from './dispatcher/event-worker.js';
import { createEventEmitter } from './services/event-emitter.js';
import { createEventService } from './services/event-service.js';
import type { RemoteWriteClient } from './dispatcher/remote-writes.js';
import { runsDispatchWorker, type WalCheckpointOptions } from './dispatcher/worker-host.js';
import { newId } from './domain/ids.js';

type WorkerMetrics = Awaited<ReturnType<Metrics['registry']['getMetricsAsJSON']>>;

export interface DepsOverrides {
  clock?: Clock;
  store?: Store;
  http?: HttpClient;
  /** Poll interval of the dispatcher, ms (tests shorten it). */
  dispatchPollMs?: number;
  /** The dispatch worker's checkpoint interval and the log length it restarts at (tests shorten both). */
  walCheckpoint?: WalCheckpointOptions;
  /**
   * The dispatch worker: this process writes nothing to the store itself (its connection is
   * read-only) and hands its claims, outcomes and Inbox rows to the main thread
   * (src/dispatcher/remote-writes.ts).
   */
  remoteWrites?: RemoteWriteClient;
  /** Collect the process's own metrics (CPU, memory, event loop); false in the dispatch worker, whose process is the main thread's. */
  processMetrics?: boolean;
  /** Prefix of the Redis keys of the hourly send caps and the fraud guard's counters (tests give each file its own). */
  redisKeyPrefix?: string;
}

/**
 * The operator's `Default` provider, validated by its kind's schema. loadConfig has already
 * checked it (src/config/default-provider.ts); a Config built any other way is checked here.
 */
export function resolvePlatformProvider(config: Config): PlatformProvider | null {
  const { provider, problems } = resolveDefaultProvider(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return provider;
}

/** The one composition root: every long-lived object of a process, wired explicitly. */
export function createDeps(config: Config, logger: Logger, overrides: DepsOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const platform = resolvePlatformProvider(config);
  // Validated by loadConfig with the other settings, so a loaded Config never throws here.
  const { keys, activeKeyId } = parseSecretKeys(config.secretKey);
  // A message body is sealed as the send is accepted and opened as it is delivered: when this
  // thread does both (no dispatch worker), the box keeps what it sealed last for that open.
  const deliversHere = !overrides.remoteWrites && !runsDispatchWorker(config, overrides);
  const secretBox = createSecretBox(keys, activeKeyId, deliversHere ? { rememberSealed: 4096 } : {});
  const rootKey = keys.find((k) => k.id === activeKeyId)!.key;
  const codeKey = Buffer.from(hkdfSync('sha256', rootKey, Buffer.alloc(0), 'otpgate passcode hmac', 32));
  // Phone hashes (docs/data-lifecycle.md): made under the active key, matched under every key.
  const phoneKeys = [rootKey, ...keys.filter((k) => k.id !== activeKeyId).map((k) => k.key)].map((k) => Buffer.from(hkdfSync('sha256', k, Buffer.alloc(0), 'otpgate phone hmac', 32)));
  const store = overrides.store ?? createStore(config.databaseUrl, {
      pgPoolSize: config.pgPoolSize,
      pgStatementTimeoutMs: config.pgStatementTimeoutMs,
      pgConnectTimeoutMs: config.pgConnectTimeoutMs,
      pgQueryTimeoutMs: config.pgQueryTimeoutMs,
      onAvailability: (up, detail) =>
        up
          ? logger.info({ component: 'store', detail }, 'PostgreSQL answers again')
          : logger.warn({ component: 'store', err_message: detail }, 'PostgreSQL is not answering: requests are answered 503 store.unavailable until it does'),
      ...(overrides.remoteWrites ? { readOnly: true } : {}),
    });
  const metrics: Metrics = createMetrics({ collectDefaults: overrides.processMetrics ?? true });
  const outboundPolicy: OutboundPolicy = { allowLoopback: config.env === 'development' };
  const http = overrides.http ?? createHttpClient(outboundPolicy);
  const events = createEventEmitter(clock);
  const ctx: ServiceContext = { store, clock, logger, secretBox, codeKey, events };
  const drain = drainController();

  let wake: () => void = () => undefined;
  let workerMetrics: (() => Promise<WorkerMetrics>) | undefined;
  let providersChanged: (tenantId: string) => void = () => undefined;
  const onEnqueued = () => wake();

  const audit = createAuditService(ctx);
  const tenants = createTenantService(ctx, audit);
  const apiKeys = createApiKeyService(ctx, audit);
  const operators = createOperatorService(ctx, { audit, sessionIdleMs: config.sessionIdleMinutes * 60_000, sessionMaxMs: config.sessionMaxHours * 3_600_000 });
  const sso =
    config.oidcIssuer && config.oidcClientId && config.oidcClientSecret && config.publicUrl
      ? createSsoService(
          {
            issuer: config.oidcIssuer,
            clientId: config.oidcClientId,
            clientSecret: config.oidcClientSecret,
            scopes: config.oidcScopes,
            allowedDomains: (config.oidcAllowedDomains ?? '').split(',').map((d) => d.trim().toLowerCase()).filter(Boolean),
            groupsClaim: config.oidcGroupsClaim,
            roleMap: parseRoleMap(config.oidcRoleMap),
            defaultRole: config.oidcDefaultRole,
            redirectUri: `${config.publicUrl.replace(/\/$/, '')}/v1/auth/oidc/callback`,
            allowHttp: config.env !== 'production',
          },
          { secretBox, operators, logger: logger.child({ component: 'sso' }), now: () => clock.now() },
        )
      : undefined;
  const templates = createTemplateService(ctx, audit);
  // Event SMS are charged to the tenant's budgets by the fraud guard, which is built further down.
  let chargeBudgets: FraudGuard['chargeBudgets'] = async () => 0;
  const messages = createMessageService(ctx, { onEnqueued, chargeBudgets: (...args) => chargeBudgets(...args) });
  const remote = overrides.remoteWrites;
  const inbox: ProviderContext['inbox'] = remote
    ? {
        // Not waited for: the row goes to the main thread before the delivery's outcome, and
        // writes from this thread are committed in order, so it is committed no later than the
        // outcome (and a crash before that loses both, and the message is delivered again).
        capture(m) {
          const id = newId('inb');
          remote
            .inbox({ id, tenant_id: m.tenantId, message_id: m.messageId, to_phone: m.to, body_sealed: secretBox.seal(m.body, id), created_at: clock.now() })
            .catch((err: unknown) => logger.error({ message_id: m.messageId, err_message: (err as Error)?.message }, 'could not write an Inbox message'));
          return Promise.resolve(id);
        },
      }
    : messages.inbox;
  const providerContext: ProviderContext = { http, clock, logger: logger.child({ component: 'provider' }), inbox };
  const providers = createProviderConfigService(ctx, {
    audit,
    platform,
    providerContext,
    outboundPolicy,
    messages,
    providerTimeoutMs: config.providerTimeoutMs,
    publicUrl: config.publicUrl,
    onChanged: (tenantId) => providersChanged(tenantId),
  });
  const keyPrefix = overrides.redisKeyPrefix !== undefined ? { keyPrefix: overrides.redisKeyPrefix } : {};
  // One switch for both Redis users: when it stops answering, neither waits on it per send.
  const redisBreaker = config.redisUrl
    ? createRedisBreaker({ clock, logger: logger.child({ component: 'redis' }), onChange: (up) => metrics.redisUp.set(up ? 1 : 0) })
    : undefined;
  if (redisBreaker) metrics.redisUp.set(1);
  const redisSendLimiter: SendLimiter | undefined = config.redisUrl
    ? createRedisSendLimiter({
        url: config.redisUrl,
        logger: logger.child({ component: 'send-limits' }),
        ...keyPrefix,
        breaker: redisBreaker!,
        onUnavailable: () => metrics.sendLimitFallbacks.inc(),
      })
    : undefined;
  // With Redis the fraud guard's counters are kept there too, in the database when it does not answer.
  const fraudCounters = config.redisUrl
    ? createRedisFraudCounters({
        url: config.redisUrl,
        logger: logger.child({ component: 'fraud-counters' }),
        clock,
        fallback: createDbFraudCounters(store.capabilities.blockingReads ? { chunk: STATS_CHUNK_ROWS } : {}),
        ...keyPrefix,
        breaker: redisBreaker!,
        onFallback: (op) => metrics.fraudCounterFallbacks.inc({ op }),
      })
    : undefined;
  // The server and the tests start and close `sendLimiter`: the counters' connection goes with it.
  const sendLimiter: SendLimiter | undefined =
    redisSendLimiter && fraudCounters
      ? {
          reserve: (windows, member, now, windowMs) => redisSendLimiter.reserve(windows, member, now, windowMs),
          forget: (keys) => redisSendLimiter.forget(keys),
          async start() {
            await Promise.all([redisSendLimiter.start(), fraudCounters.start()]);
          },
          async close() {
            await Promise.all([redisSendLimiter.close(), fraudCounters.close()]);
          },
        }
      : redisSendLimiter;
  const fraud = createFraudGuard(ctx, { metrics, audit, ...(fraudCounters ? { counters: fraudCounters } : {}) });
  chargeBudgets = fraud.chargeBudgets;
  const otp = createOtpService(ctx, { templates, metrics, onEnqueued, fraud, limiter: sendLimiter });
  const receipts = createReceiptService(ctx, { providers });
  const receivers = createReceiverService(ctx, { audit, templates, fraud, metrics, getTenant: (id) => tenants.getActive(id), requireUsableProvider: (id) => providers.requireUsable(id), onEnqueued });
  const stats = createStatsService(ctx, { receiptKinds: receiptKinds(config.publicUrl) });
  const eventEndpoints = createEventService(ctx, { audit, http, outboundPolicy });
  const eventWorker = createEventWorker({ store, clock, logger: logger.child({ component: 'events' }), secretBox, http });
  const phones = createPhoneDataService({ ...ctx, phoneKeys }, { audit, tenants, ...(sendLimiter ? { limiter: sendLimiter } : {}) });
  const breaker = createCircuitBreaker(clock);
  // PostgreSQL: deliveries' outcomes are committed in batches (src/dispatcher/outcome-batcher.ts).
  const outcomes = !remote && !store.capabilities.singleWriter ? createOutcomeBatcher(store, events) : undefined;
  const dispatcher = createDispatcher({
    store,
    clock,
    logger: logger.child({ component: 'dispatcher' }),
    concurrency: config.dispatchConcurrency,
    leaseMs: config.dispatchLeaseMs,
    ...(overrides.dispatchPollMs !== undefined ? { pollMs: overrides.dispatchPollMs } : {}),
    ...(remote ? { claimVia: remote.claim, releaseBeforeRecord: true, prefetch: 4 * config.dispatchConcurrency } : {}),
    deliver: (owner, message, release) =>
      deliverMessage(
        {
          store,
          clock,
          logger,
          metrics,
          secretBox,
          breaker,
          events,
          chainFor: (tenantId) => providers.chainFor(tenantId),
          publicUrl: config.publicUrl,
          providerTimeoutMs: config.providerTimeoutMs,
          drainSignal: drain.signal,
          requeued: () => wake(),
          ...(remote ? { record: remote.complete } : outcomes ? { record: outcomes.record } : {}),
        },
        owner,
        message,
        release,
      ),
  });
  wake = () => dispatcher.wake();

  return {
    config,
    logger,
    clock,
    store,
    metrics,
    secretBox,
    platform,
    audit,
    tenants,
    apiKeys,
    /** Operator accounts and their console sessions (docs/operators.md). */
    operators,
    /** OpenID Connect single sign-on for operators, when configured. */
    sso,
    templates,
    messages,
    providers,
    otp,
    fraud,
    sendLimiter,
    /** The Redis switch shared by the send caps and the fraud guard's counters (with OTPGATE_REDIS_URL). */
    redisBreaker,
    receipts,
    receivers,
    stats,
    /** Queues events in the transaction of the change they report (docs/events.md). */
    events,
    /** Event endpoints of tenants (docs/events.md). */
    eventEndpoints,
    /** Delivers the events outbox; started and stopped with the server. */
    eventWorker,
    /** The guarded outbound client (SSRF guard, deadlines) of providers and event deliveries. */
    http,
    phones,
    /** Keys of the phone hashes, the active one first (housekeeping hashes with the first). */
    phoneKeys,
    breaker,
    dispatcher,
    /** Replace how a local enqueue wakes dispatchers (multi-node: NOTIFY as well). */
    setWake(fn: () => void) {
      wake = fn;
    },
    /** The dispatch worker's metrics, merged into `/metrics` (src/dispatcher/worker-host.ts). */
    setWorkerMetrics(fn: () => Promise<WorkerMetrics>) {
      workerMetrics = fn;
    },
    /** Told when a tenant's providers change (the dispatch worker's chain cache). */
    setProvidersChanged(fn: (tenantId: string) => void) {
      providersChanged = fn;
    },
    get workerMetrics() {
      return workerMetrics;
    },
    drain,
  };
}

export type Deps = ReturnType<typeof createDeps>;
