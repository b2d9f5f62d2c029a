import type { Store } from '../store/db.js';
import type { EventEmitter } from '../services/event-emitter.js';
import { createRemoteWriteServer, type OutcomeRecord } from './remote-writes.js';

/**
 * Delivery bookkeeping batched across messages, for a store where each unit is a transaction
 * of its own (PostgreSQL): the outcomes that finish while the previous batch commits go
 * together in ONE transaction (one BEGIN and one COMMIT, one WAL flush, for the lot), instead
 * of a transaction each. A batch that fails is retried outcome by outcome, so one bad outcome
 * fails alone; each promise settles after its commit, as before.
 */
export function createOutcomeBatcher(store: Store, events: EventEmitter, options: { maxBatch?: number } = {}) {
  const maxBatch = options.maxBatch ?? 128;
  const run = createRemoteWriteServer(store, events);
  let queue: Array<{ outcome: OutcomeRecord; resolve(ok: boolean): void; reject(e: unknown): void }> = [];
  let running = false;

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue.splice(0);
        const results = await run(batch.map((b) => ({ kind: 'complete' as const, outcome: b.outcome })));
        batch.forEach((b, i) => {
          const r = results[i];
          if (r?.ok) b.resolve(r.value === true);
          else b.reject(new Error(r ? r.error : 'no result'));
        });
      }
    } finally {
      running = false;
    }
  }

  return {
    record(outcome: OutcomeRecord): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ outcome, resolve, reject });
        if (!running) {
          running = true;
          // The outcomes of this event-loop turn join the first batch.
          setImmediate(() => void drain());
        }
      });
    },
    /** Outcomes waiting or being written. */
    pending: () => queue.length,
  };
}
