import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { Store } from '../store/db.js';
import { claimDueMessages, nextDueAt, type ClaimedMessage } from '../store/queries/messages.js';
import type { DeliveryOutcome } from './deliver.js';

export interface DispatcherOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Messages in flight at once. */
  concurrency: number;
  /** How long a claim holds, ms; a dispatcher that dies lets its claims go after this. */
  leaseMs: number;
  /**
   * Claims through this instead of a statement on `store` (the dispatch worker: through the
   * main thread, which writes for it: src/dispatcher/remote-writes.ts).
   */
  claimVia?: (claim: { owner: string; now: number; leaseUntil: number; limit: number; expiredLeases: boolean }) => Promise<ClaimedMessage[]>;
  /**
   * A delivery frees its place once its provider call is over (it calls `release`), before its
   * outcome is recorded: the next claim then travels with that outcome (the dispatch worker,
   * whose writes take a trip to the main thread). The provider still sees at most
   * `concurrency` calls at once.
   */
  releaseBeforeRecord?: boolean;
  /**
   * Messages claimed ahead, beyond `concurrency`, waiting here for a place: when a claim takes
   * a trip to another thread, the places do not stay empty during the trip. Default 0.
   */
  prefetch?: number;
  /** Longest sleep between looks at the outbox when nothing wakes it, ms. Default 1000. */
  pollMs?: number;
  deliver(owner: string, message: ClaimedMessage, release?: () => void): Promise<DeliveryOutcome>;
}

/**
 * After the grace period of `stop()`, how long aborted deliveries get to record their attempt
 * and put their message back in the queue, ms. An aborted provider call ends at once; this
 * bounds only a write that hangs. The dispatch worker's host allows for it (worker-host.ts).
 */
export const ABORT_SETTLE_MS = 3000;

/**
 * Takes due messages from the outbox and delivers them, at most `concurrency` at a time.
 * Woken at once by `wake()` (a local enqueue, or a NOTIFY from another node); otherwise it
 * sleeps until the next message falls due, at most `pollMs`.
 */
export function createDispatcher(options: DispatcherOptions) {
  const { store, clock, logger } = options;
  const owner = `dsp_${randomBytes(6).toString('hex')}`;
  const pollMs = options.pollMs ?? 1000;
  let running = false;
  /** Deliveries holding a place (their provider call not over yet). */
  let inflight = 0;
  /** Deliveries that gave their place back and are recording their outcome. */
  let recording = 0;
  /** Claimed (leased to this dispatcher), waiting for a place. */
  const waiting: ClaimedMessage[] = [];
  const prefetch = options.prefetch ?? 0;
  let lookSoon = false;
  /** The look at the outbox under way; another wake meanwhile sets `again`. */
  let current: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let leasesCheckedAt = 0;
  /** Told whenever a look or a delivery ends (stop() waits for both to be over). */
  const settledWaiters: Array<() => void> = [];
  const settled = () => current === undefined && inflight === 0 && recording === 0 && waiting.length === 0;
  const notifySettled = () => {
    if (settled()) for (const w of settledWaiters.splice(0)) w();
  };

  /** Resolves true once nothing is under way, false if `ms` passes first. */
  function waitSettled(ms: number): Promise<boolean> {
    if (settled()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter = () => {
        clearTimeout(t);
        resolve(true);
      };
      const t = setTimeout(() => {
        const i = settledWaiters.indexOf(waiter);
        if (i >= 0) settledWaiters.splice(i, 1);
        resolve(false);
      }, ms);
      settledWaiters.push(waiter);
    });
  }

  function claim(now: number, limit: number, expiredLeases = false) {
    const leaseUntil = now + options.leaseMs;
    if (options.claimVia) return options.claimVia({ owner, now, leaseUntil, limit, expiredLeases });
    return store.exclusive(() => claimDueMessages(store.db, owner, now, leaseUntil, limit, expiredLeases));
  }

  function schedule(delayMs: number) {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void tick(), Math.max(0, Math.min(delayMs, pollMs)));
    timer.unref();
  }

  function tick(): Promise<void> {
    if (!running) return Promise.resolve();
    if (current) {
      again = true;
      return current;
    }
    current = look().finally(() => {
      current = undefined;
      notifySettled();
    });
    return current;
  }

  /** Starts waiting deliveries while there are places. */
  function startWaiting() {
    while (inflight < options.concurrency && waiting.length > 0) start(waiting.shift()!);
  }

  function start(m: ClaimedMessage) {
    inflight += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inflight -= 1;
      recording += 1;
      startWaiting();
      // Once the deliveries ending in this turn have all given their places back: one claim
      // for all of them, which travels with their outcomes.
      if (!lookSoon) {
        lookSoon = true;
        setImmediate(() => {
          lookSoon = false;
          void tick();
        });
      }
    };
    options
      .deliver(owner, m, options.releaseBeforeRecord ? release : undefined)
      .catch((err: unknown) => logger.error({ message_id: m.id, err_name: (err as Error)?.name, err_message: (err as Error)?.message }, 'delivery failed unexpectedly'))
      .finally(() => {
        if (released) recording -= 1;
        else inflight -= 1;
        startWaiting();
        notifySettled();
        void tick();
      });
  }

  async function look(): Promise<void> {
    try {
      do {
        again = false;
        const room = options.concurrency + prefetch - inflight - waiting.length;
        if (room <= 0) break;
        const now = clock.now();
        const claimed = await claim(now, room);
        // Abandoned claims are looked for at most once per poll interval, not on every wake.
        if (claimed.length < room && now - leasesCheckedAt >= pollMs && running) {
          leasesCheckedAt = now;
          claimed.push(...(await claim(now, room - claimed.length, true)));
        }
        // Claimed is leased to this dispatcher: deliver it even if stop() began meanwhile
        // (stop() waits for this look, then for these deliveries).
        waiting.push(...claimed);
        startWaiting();
        if (claimed.length === room) again = true;
      } while (again && running);
      if (!running) return;
      // While deliveries are in flight, each one's end looks again; only an idle dispatcher
      // needs to know when the next message falls due.
      if (inflight + recording + waiting.length > 0) schedule(pollMs);
      else {
        const due = await nextDueAt(store.db);
        // A wake while the due time was read may be for a message that read missed: look again now.
        schedule(again ? 0 : due === undefined ? pollMs : due - clock.now());
      }
    } catch (err) {
      if (running) logger.warn({ err_message: (err as Error)?.message }, 'dispatcher could not read the outbox; retrying');
      schedule(pollMs);
    }
  }

  return {
    owner,
    start() {
      if (running) return;
      running = true;
      void tick();
    },
    /** Look at the outbox now (coalesced). */
    wake() {
      if (!running) return;
      if (current) again = true;
      else setImmediate(() => void tick());
    },
    get inflight() {
      return inflight + recording + waiting.length;
    },
    /** Resolves true once no look at the outbox and no delivery is under way, false after `ms`. */
    whenIdle: waitSettled,
    /** Claims and delivers what is due once, and waits for it (tests and the CLI). */
    async runOnce(): Promise<number> {
      const now = clock.now();
      const claimed = await claim(now, options.concurrency);
      if (claimed.length < options.concurrency) {
        claimed.push(...(await claim(now, options.concurrency - claimed.length, true)));
      }
      await Promise.all(claimed.map((m) => options.deliver(owner, m)));
      return claimed.length;
    },
    /**
     * Stops claiming and waits up to `graceMs` for the deliveries in flight. Past it, calls
     * `abort` (the caller aborts their provider calls: the drain signal of deliver.ts) and waits
     * up to ABORT_SETTLE_MS more while each aborted delivery records its attempt and puts its
     * message back in the queue. Resolves when none is left in flight, or that wait ran out
     * (their leases then bring them back). Only then may the caller close the store.
     */
    async stop(graceMs: number, abort?: () => void): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      if (await waitSettled(graceMs)) return;
      if (!abort) return;
      logger.warn({ inflight: inflight + recording + waiting.length, grace_ms: graceMs }, 'shutdown grace period over: aborting the provider calls in flight; their messages go back to the queue');
      abort();
      if (await waitSettled(ABORT_SETTLE_MS)) return;
      logger.error({ inflight: inflight + recording + waiting.length }, 'deliveries still in flight after being aborted; their messages come back when their leases end');
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
