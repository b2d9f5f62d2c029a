import type { Executor } from '../store/db.js';
import { addToCountersOfTenants } from '../store/queries/fraud.js';
import type { CounterEntry } from './fraud-counters.js';

type Waiting = { tenantId: string; entries: readonly CounterEntry[]; resolve(): void; reject(e: unknown): void };

/**
 * The fraud guard's counts in batches, on a store where each statement is a round trip of its
 * own and several nodes count (PostgreSQL): a first code's send once its statement committed,
 * a verified code once its approval did. The counts that arrive while the previous batch is
 * written go together in ONE upsert, their figures summed per tenant, key and bucket, so a
 * busy country's row of the hour is updated and locked once per batch instead of once per
 * request. A batch that fails (a tenant deleted meanwhile) is written again tenant by tenant,
 * so one failure fails only its own. Each promise settles once its counts are committed.
 */
export function createCounterBatcher(db: Executor, options: { maxBatch?: number } = {}) {
  const maxBatch = options.maxBatch ?? 256;
  let queue: Waiting[] = [];
  let running = false;

  async function write(batch: Waiting[]): Promise<void> {
    const sums = new Map<string, { tenant_id: string; key: string; bucket: number; sent: number; verified: number; segments: number; cost_micros: number }>();
    for (const w of batch) {
      for (const e of w.entries) {
        const id = `${w.tenantId}\u0000${e.key}\u0000${e.bucket}`;
        const row = sums.get(id) ?? { tenant_id: w.tenantId, key: e.key, bucket: e.bucket, sent: 0, verified: 0, segments: 0, cost_micros: 0 };
        row.sent += e.delta.sent;
        row.verified += e.delta.verified;
        row.segments += e.delta.segments;
        row.cost_micros += e.delta.costMicros;
        sums.set(id, row);
      }
    }
    // One order for every writer of these rows, so concurrent batches lock them in the same order.
    const rows = [...sums.values()].sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : a.tenant_id > b.tenant_id ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : a.bucket - b.bucket));
    if (rows.length > 0) await addToCountersOfTenants(db, rows);
  }

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue.splice(0);
        try {
          await write(batch);
          for (const w of batch) w.resolve();
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          const tenants = new Map<string, Waiting[]>();
          for (const w of batch) tenants.set(w.tenantId, [...(tenants.get(w.tenantId) ?? []), w]);
          for (const group of tenants.values()) {
            await write(group).then(
              () => group.forEach((w) => w.resolve()),
              (e: unknown) => group.forEach((w) => w.reject(e)),
            );
          }
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    add(tenantId: string, entries: readonly CounterEntry[]): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ tenantId, entries, resolve, reject });
        if (!running) {
          running = true;
          // The counts of this event-loop turn join the first batch.
          setImmediate(() => void drain());
        }
      });
    },
  };
}

export type CounterBatcher = ReturnType<typeof createCounterBatcher>;
