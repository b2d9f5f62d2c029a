import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SecretBox } from '../crypto/secret-box.js';
import { signWebhook } from '../crypto/webhook-signature.js';
import type { Clock } from '../domain/clock.js';
import { EVENT_DISABLE_AFTER_MS, EVENT_RETRY_WINDOW_MS, eventBackoff, eventEndpointSealAad as sealAad } from '../domain/events.js';
import { backoffDelayMs } from '../domain/retry-policy.js';
import { HttpFailure, type HttpClient } from '../providers/http.js';
import type { Store } from '../store/db.js';
import {
  claimDueEventDeliveries,
  completeEventDelivery,
  disableFailingEndpoint,
  findEventEndpointById,
  markEndpointFailing,
  markEndpointHealthy,
  nextEventDueAt,
  type ClaimedEventDelivery,
} from '../store/queries/events.js';
import { drainController } from './drain.js';

export interface EventWorkerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  secretBox: SecretBox;
  /** The guarded client of provider calls: the same SSRF guard, no redirects followed. */
  http: HttpClient;
  /** Deliveries in flight at once. Default 8. */
  concurrency?: number;
  /** Deadline of one delivery, ms. Default 10 000. */
  timeoutMs?: number;
  /** Longest sleep between looks at the outbox, ms. Default 1000. */
  pollMs?: number;
  /** Source of jitter (tests). */
  random?: () => number;
}

export type EventAttemptOutcome = 'delivered' | 'retry' | 'failed' | 'lost_lease';

/**
 * Delivers the events outbox to tenants' endpoints (docs/events.md), like the SMS dispatcher:
 * claims in one statement with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
 * nodes share the work), at-least-once (a node that dies after the endpoint answered and
 * before the outcome is recorded sends it again, with the same `webhook-id`), capped
 * exponential backoff with jitter for at least 24 h, and an endpoint failing for 3 days is
 * disabled.
 */
export function createEventWorker(options: EventWorkerOptions) {
  const { store, clock, logger, secretBox, http } = options;
  const owner = `evw_${randomBytes(6).toString('hex')}`;
  const concurrency = options.concurrency ?? 8;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const leaseMs = timeoutMs + 30_000;
  const pollMs = options.pollMs ?? 1000;
  const random = options.random ?? Math.random;
  const drain = drainController();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;

  async function attempt(d: ClaimedEventDelivery): Promise<EventAttemptOutcome> {
    const endpoint = await findEventEndpointById(store.db, d.endpoint_id);
    const now = clock.now();
    let status: number | null = null;
    let error: string | null = null;
    if (!endpoint || endpoint.enabled !== 1) error = 'The endpoint is disabled.';
    else {
      const secrets = [secretBox.open(endpoint.secret_sealed, sealAad(endpoint.id))];
      if (endpoint.previous_secret_sealed !== null && (endpoint.previous_secret_until ?? 0) > now) secrets.push(secretBox.open(endpoint.previous_secret_sealed, sealAad(endpoint.id)));
      const timestamp = Math.floor(now / 1000);
      try {
        const res = await http.request({
          method: 'POST',
          url: endpoint.url,
          headers: {
            'content-type': 'application/json',
            'webhook-id': d.event_id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook(secrets, d.event_id, timestamp, d.payload),
          },
          body: d.payload,
          timeoutMs,
          signal: drain.signal,
          maxResponseBytes: 64 * 1024,
        });
        status = res.status;
        if (status < 200 || status >= 300) error = status >= 300 && status < 400 ? `The endpoint answered ${status}: redirects are not followed.` : `The endpoint answered ${status}.`;
      } catch (err) {
        error = err instanceof HttpFailure ? err.message : 'The request failed.';
      }
    }
    const after = clock.now();
    const attempts = d.attempts + 1;
    const delivered = error === null;
    // Disabled endpoints are not retried: "send again" after turning it on.
    const giveUp = !delivered && (!endpoint || endpoint.enabled !== 1 || after - d.created_at >= EVENT_RETRY_WINDOW_MS);
    const outcome: EventAttemptOutcome = delivered ? 'delivered' : giveUp ? 'failed' : 'retry';
    const held = await store.writes.write(async (trx) => {
      const ok = await completeEventDelivery(trx, d.id, owner, {
        status: outcome === 'retry' ? 'queued' : outcome,
        attempts,
        next_attempt_at: outcome === 'retry' ? after + backoffDelayMs(attempts, eventBackoff, random) : after,
        last_attempt_at: now,
        last_http_status: status,
        last_error: error,
        updated_at: after,
        delivered_at: delivered ? after : null,
      });
      if (!ok || !endpoint || endpoint.enabled !== 1) return ok;
      if (delivered) await markEndpointHealthy(trx, endpoint.id);
      else if (after - (await markEndpointFailing(trx, endpoint.id, after)) >= EVENT_DISABLE_AFTER_MS) {
        await disableFailingEndpoint(trx, endpoint.id, 'Every delivery failed for 3 days.', after);
        logger.warn({ endpoint_id: endpoint.id, tenant_id: d.tenant_id }, 'event endpoint disabled: its deliveries failed for 3 days');
      }
      return ok;
    });
    return held ? outcome : 'lost_lease';
  }

  async function claimAndDeliver(): Promise<number> {
    const now = clock.now();
    const claim = (limit: number, expired: boolean) => store.exclusive(() => claimDueEventDeliveries(store.db, store.capabilities, owner, now, now + leaseMs, limit, expired));
    const claimed = await claim(concurrency, false);
    if (claimed.length < concurrency) claimed.push(...(await claim(concurrency - claimed.length, true)));
    await Promise.all(
      claimed.map((d) =>
        attempt(d).catch((err: unknown) => {
          logger.error({ delivery_id: d.id, err_message: (err as Error)?.message }, 'event delivery failed unexpectedly');
        }),
      ),
    );
    return claimed.length;
  }

  function schedule(ms: number) {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void tick(), Math.max(0, Math.min(ms, pollMs)));
    timer.unref();
  }

  function tick(): Promise<void> {
    if (!running || current) return current ?? Promise.resolve();
    current = (async () => {
      try {
        while (running && (await claimAndDeliver()) === concurrency);
        const due = await nextEventDueAt(store.db);
        schedule(due === undefined ? pollMs : due - clock.now());
      } catch (err) {
        if (running) logger.warn({ err_message: (err as Error)?.message }, 'event worker could not read the outbox; retrying');
        schedule(pollMs);
      }
    })().finally(() => {
      current = undefined;
    });
    return current;
  }

  return {
    owner,
    start() {
      if (running) return;
      running = true;
      void tick();
    },
    /** Claims and delivers what is due once, and waits for it (tests). Answers how many were attempted. */
    runOnce: claimAndDeliver,
    /**
     * Stops claiming; waits up to `graceMs` for the deliveries in flight, then aborts them (an
     * aborted one is recorded as a failed attempt and retried; the endpoint may have got it).
     */
    async stop(graceMs: number): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      if (!current) return;
      const t = setTimeout(() => drain.abort(), graceMs);
      await current.catch(() => undefined);
      clearTimeout(t);
    },
  };
}

export type EventWorker = ReturnType<typeof createEventWorker>;
