import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { receiptCallbackUrl } from '../domain/callback-url.js';
import { newId } from '../domain/ids.js';
import { backoffDelayMs, defaultBackoff } from '../domain/retry-policy.js';
import type { Clock } from '../domain/clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Metrics } from '../observability/metrics.js';
import { isProviderError, ProviderError } from '../providers/provider-error.js';
import type { Store } from '../store/db.js';
import type { ClaimedMessage } from '../store/queries/messages.js';
import type { MessageUpdate, NewMessageAttempt } from '../store/schema.js';
import type { ChainEntry } from '../services/provider-config-service.js';
import type { EventEmitter } from '../services/event-emitter.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { decide } from './outcome.js';
import { applyOutcome, type OutcomeRecord } from './remote-writes.js';

export interface DeliverDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  secretBox: SecretBox;
  breaker: CircuitBreaker;
  /** message.sent / message.failed to the tenant's endpoints, in the outcome's transaction. */
  events: EventEmitter;
  chainFor(tenantId: string): Promise<ChainEntry[]>;
  /** Base of delivery-receipt URLs (`OTPGATE_PUBLIC_URL`), when set. */
  publicUrl: string | undefined;
  providerTimeoutMs: number;
  /**
   * Aborted when the process drains past its grace period. A provider call it aborts still
   * records its attempt and puts the message back in the queue, due at once.
   */
  drainSignal: AbortSignal;
  /** Called when a message went back to the queue due now (failover), to claim it again at once. */
  requeued(): void;
  /**
   * Records an outcome somewhere else than `store.writes` (the dispatch worker: through the
   * main thread, src/dispatcher/remote-writes.ts); resolves false when the lease was lost.
   */
  record?: (outcome: OutcomeRecord) => Promise<boolean>;
}

/**
 * Delivery outcome of one claimed message, for the caller's bookkeeping. `requeued`: the
 * provider call was aborted by the drain (shutdown past its grace period) and the message is
 * queued again, due at once.
 */
export type DeliveryOutcome = 'sent' | 'retry' | 'failover' | 'failed' | 'requeued' | 'lost_lease';

/**
 * Makes one attempt for a claimed message through its current chain entry and moves it on
 * according to the outcome table, making at most `defaultBackoff.maxAttempts` attempts per
 * message over all providers. At-least-once: a provider may receive a message twice if a
 * process dies between the provider accepting it and this function recording that, or if a
 * shutdown aborts the call after the provider accepted it.
 */
export async function deliverMessage(deps: DeliverDeps, owner: string, msg: ClaimedMessage, release?: () => void): Promise<DeliveryOutcome> {
  const { clock, store } = deps;
  const now = clock.now();
  const finalUpdate = (u: MessageUpdate): MessageUpdate => ({ ...u, lease_owner: null, lease_until: null, updated_at: clock.now() });
  // The message's new state, its attempt, and (when final) the tenant's event, in one unit.
  const record = (update: MessageUpdate, attempt: NewMessageAttempt | undefined): Promise<boolean> => {
    // The provider call is over: the caller may start another while this one is recorded.
    release?.();
    const o: OutcomeRecord = { messageId: msg.id, tenantId: msg.tenant_id, owner, update, attempt };
    return deps.record ? deps.record(o) : store.writes.write((trx) => applyOutcome(trx, deps.events, o));
  };

  const fail = async (kind: string, message: string, code: string | null = null): Promise<DeliveryOutcome> => {
    const ok = await record(finalUpdate({ status: 'failed', body_sealed: null, error_kind: kind, error_code: code, error_message: message }), undefined);
    if (ok) deps.metrics.messagesFinal.inc({ status: 'failed' });
    return ok ? 'failed' : 'lost_lease';
  };

  if (now >= msg.expires_at) return fail('expired', 'The message expired before a provider accepted it.');
  if (msg.body_sealed === null) return fail('internal', 'The message body is gone.');
  // Each provider has its own cap (outcome.ts); this one bounds the message as a whole, which
  // also counts attempts aborted by a shutdown.
  if (msg.attempts >= defaultBackoff.maxAttempts) return fail('exhausted', `The message used all its ${defaultBackoff.maxAttempts} attempts.`);

  const chain = await deps.chainFor(msg.tenant_id);
  if (chain.length === 0) return fail('not_configured', 'No provider is configured for this tenant and there is no platform Default.');

  // Skip entries whose circuit is open: fail over past a provider that keeps failing.
  let index = Math.min(msg.chain_index, chain.length - 1);
  let chainAttempts = msg.chain_index === index ? msg.chain_attempts : 0;
  while (index < chain.length && !deps.breaker.allow(chain[index]!.breakerKey)) {
    index += 1;
    chainAttempts = 0;
  }
  if (index >= chain.length) {
    // Every provider is cooling down: try again shortly, within the expiry.
    const at = now + 5_000;
    if (at >= msg.expires_at) return fail('circuit_open', 'Every provider of this tenant is failing; the message expired waiting for one.');
    const ok = await record(finalUpdate({ status: 'queued', next_attempt_at: at, chain_index: 0, chain_attempts: 0 }), undefined);
    return ok ? 'retry' : 'lost_lease';
  }
  const entry = chain[index]!;
  let body: string;
  try {
    body = deps.secretBox.open(msg.body_sealed, msg.id);
  } catch {
    // Sealed under a key no longer configured: no attempt can ever send it.
    return fail('internal', 'The message body cannot be opened with the configured secret keys.');
  }
  const deadline = attemptSignal(deps.providerTimeoutMs, deps.drainSignal);
  const startedAt = clock.now();
  const t0 = performance.now();
  let providerMessageId: string | null = null;
  let error: ProviderError | undefined;
  const callbackUrl = receiptCallbackUrl(deps.publicUrl, entry.kind, msg.tenant_id);
  try {
    const r = await entry.provider.send({
      messageId: msg.id,
      tenantId: msg.tenant_id,
      to: msg.to_phone,
      body,
      ...(msg.sender_id ? { from: msg.sender_id } : {}),
      ...(callbackUrl ? { statusCallbackUrl: callbackUrl } : {}),
      signal: deadline.signal,
    });
    providerMessageId = r.providerMessageId;
  } catch (err) {
    if (isProviderError(err)) error = err;
    else {
      deps.logger.error({ provider: entry.kind, message_id: msg.id, err_name: (err as Error)?.name }, 'adapter threw a non-ProviderError');
      error = new ProviderError('unknown', 'The provider adapter failed unexpectedly.');
    }
  } finally {
    deadline.dispose();
  }
  const latency = Math.round(performance.now() - t0);
  deps.metrics.providerLatency.observe({ provider: entry.kind }, latency / 1000);
  deps.metrics.providerAttempts.inc({ provider: entry.kind, outcome: error ? error.kind : 'accepted' });
  const attemptNo = msg.attempts + 1;
  const attempt = {
    id: newId('att'),
    message_id: msg.id,
    tenant_id: msg.tenant_id,
    attempt_no: attemptNo,
    provider: entry.kind,
    slot: entry.slot,
    started_at: startedAt,
    latency_ms: latency,
    outcome: error ? ('failed' as const) : ('accepted' as const),
    error_kind: error?.kind ?? null,
    provider_code: error?.providerCode ?? null,
    http_status: error?.httpStatus ?? null,
    error_message: error?.message ?? null,
    provider_message_id: providerMessageId,
  };

  if (!error) {
    deps.breaker.success(entry.breakerKey);
    const ok = await record(
        finalUpdate({
          status: 'sent',
          body_sealed: null,
          attempts: attemptNo,
          chain_index: index,
          chain_attempts: chainAttempts + 1,
          provider: entry.kind,
          provider_message_id: providerMessageId,
          error_kind: null,
          error_code: null,
          error_message: null,
          sent_at: clock.now(),
        }),
        attempt,
    );
    if (ok) {
      deps.metrics.messagesFinal.inc({ status: 'sent' });
      deps.metrics.dispatchLatency.observe((clock.now() - msg.created_at) / 1000);
    }
    return ok ? 'sent' : 'lost_lease';
  }

  if (deps.drainSignal.aborted && error.kind === 'transient') {
    // Aborted by the shutdown, not failed by the provider: recorded, queued again due now on
    // the same provider, not counted against it (nor against its circuit). The provider may
    // have accepted it already; the next attempt can send it twice (at-least-once).
    const abortedAttempt = { ...attempt, error_message: 'Aborted: otpgate shut down during the provider call; the message is queued again (the provider may have received it).' };
    const ok = await record(
        finalUpdate({
          status: 'queued',
          attempts: attemptNo,
          chain_index: index,
          chain_attempts: chainAttempts,
          next_attempt_at: clock.now(),
          error_kind: error.kind,
          error_code: null,
          error_message: abortedAttempt.error_message,
          provider: entry.kind,
        }),
        abortedAttempt,
    );
    if (ok) deps.logger.info({ message_id: msg.id, provider: entry.kind }, 'delivery aborted by the shutdown; the message is queued again');
    return ok ? 'requeued' : 'lost_lease';
  }

  // An invalid recipient is an answer from a healthy provider: it closes the circuit.
  if (error.kind === 'invalid_recipient') deps.breaker.success(entry.breakerKey);
  else deps.breaker.failure(entry.breakerKey);
  const after = clock.now();
  let decision = decide({
    kind: error.kind,
    chainAttempts: chainAttempts + 1,
    chainIndex: index,
    chainLength: chain.length,
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    backoffMs: backoffDelayMs(chainAttempts + 1, defaultBackoff),
    now: after,
    expiresAt: msg.expires_at,
  });
  // The message's own cap, over every provider: no further attempt after this one.
  if (decision.action !== 'stop' && attemptNo >= defaultBackoff.maxAttempts) decision = { action: 'stop', reason: 'exhausted' };
  const errorFields = { error_kind: error.kind, error_code: error.providerCode ?? null, error_message: error.message, provider: entry.kind };
  let update: MessageUpdate;
  let outcome: DeliveryOutcome;
  switch (decision.action) {
    case 'retry':
      update = { status: 'queued', attempts: attemptNo, chain_index: index, chain_attempts: chainAttempts + 1, next_attempt_at: after + decision.delayMs, ...errorFields };
      outcome = 'retry';
      break;
    case 'failover':
      update = { status: 'queued', attempts: attemptNo, chain_index: index + 1, chain_attempts: 0, next_attempt_at: after, ...errorFields };
      outcome = 'failover';
      break;
    case 'stop':
      update = { status: 'failed', body_sealed: null, attempts: attemptNo, chain_index: index, chain_attempts: chainAttempts + 1, ...errorFields };
      outcome = 'failed';
      break;
  }
  const ok = await record(finalUpdate(update), attempt);
  if (!ok) return 'lost_lease';
  if (outcome === 'failed') deps.metrics.messagesFinal.inc({ status: 'failed' });
  if (outcome === 'failover') deps.requeued();
  return outcome;
}

/**
 * The signal of one provider attempt: aborted at its deadline or when the process drains. Not
 * `AbortSignal.any([AbortSignal.timeout(…), drain])`: on Node 20–24 each composite stays in
 * the long-lived drain signal's set of dependants after it is done (nodejs/node#55351,
 * #64476), a slow leak at one entry per delivery, and each call cost ~18 µs here. `dispose`
 * clears the timer and the drain listener once the attempt is over.
 */
export function attemptSignal(timeoutMs: number, drain: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onDrain = () => controller.abort(drain.reason);
  const timer = setTimeout(() => controller.abort(new DOMException('The provider attempt timed out', 'TimeoutError')), timeoutMs);
  timer.unref(); // as AbortSignal.timeout's: an attempt in flight does not by itself hold the process
  if (drain.aborted) onDrain();
  else drain.addEventListener('abort', onDrain, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      drain.removeEventListener('abort', onDrain);
    },
  };
}
