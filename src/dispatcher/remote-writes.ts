import type { Clock } from '../domain/clock.js';
import type { Store, Executor } from '../store/db.js';
import { batchOutcomeColumns, claimDueMessages, completeAttempt, completeAttempts, completeBatch, insertAttempts, type ClaimedMessage } from '../store/queries/messages.js';
import { insertInboxMessage } from '../store/queries/inbox.js';
import type { InboxMessagesTable, MessageUpdate, NewMessageAttempt } from '../store/schema.js';
import type { EventData, EventEmitter } from '../services/event-emitter.js';
import type { EventType } from '../domain/events.js';

/**
 * The dispatch worker's writes, as data: on a SQLite file the worker writes nothing itself
 * (its connection is read-only); it hands these to the main thread, whose group commit is the
 * file's only writer. No lock is shared between the threads, so the main thread never waits
 * for one, and a batch of the worker's writes costs one unit of the main thread's commit.
 */
export type RemoteWrite =
  | { kind: 'claim'; owner: string; now: number; leaseUntil: number; limit: number; expiredLeases: boolean }
  | { kind: 'complete'; outcome: OutcomeRecord }
  | { kind: 'inbox'; row: InboxMessagesTable };

/** A delivery's bookkeeping: the message's new state, its attempt, and the tenant's event when final. */
export interface OutcomeRecord {
  messageId: string;
  tenantId: string;
  owner: string;
  update: MessageUpdate;
  attempt: NewMessageAttempt | undefined;
}

type Result = { ok: true; value: unknown } | { ok: false; error: string };

/** Worker → main: writes to run; main → worker: their results, in the same order. */
export type RemoteWritesRequest = { type: 'writes'; batch: number; writes: RemoteWrite[] };
export type RemoteWritesReply = { type: 'write-results'; batch: number; results: Result[] };

/**
 * Records an outcome in `trx`, only while `owner` still holds the message's lease. A final
 * outcome is an event for the tenant's endpoints, written with it (docs/events.md).
 */
export async function applyOutcome(trx: Executor, events: EventEmitter, o: OutcomeRecord, attempts?: NewMessageAttempt[]): Promise<boolean> {
  if (!(await completeAttempt(trx, o.messageId, o.owner, o.update, o.attempt, attempts))) return false;
  await announce(trx, events, o);
  return true;
}

/** The event of a final outcome, for the tenant's endpoints. */
async function announce(trx: Executor, events: EventEmitter, o: OutcomeRecord): Promise<void> {
  const e = outcomeEvent(o);
  if (e) await events.emit(trx, o.tenantId, e.type, e.data);
}

/** A final outcome's event: `message.sent` or `message.failed`; none for an outcome that is not final. */
function outcomeEvent(o: OutcomeRecord): { type: EventType; data: EventData } | undefined {
  const u = o.update;
  if (u.status !== 'sent' && u.status !== 'failed') return undefined;
  return {
    type: u.status === 'sent' ? 'message.sent' : 'message.failed',
    data: {
      message_id: o.messageId,
      provider: u.provider ?? null,
      ...(u.status === 'sent' ? { provider_message_id: u.provider_message_id ?? null } : { error_kind: u.error_kind ?? null, error_code: u.error_code ?? null, error_message: u.error_message ?? null }),
    },
  };
}

/** What the writes of one unit share: one read of each tenant's endpoints, one insert of all their attempts. */
type Unit = { events: EventEmitter; attempts: NewMessageAttempt[] };

async function applyOne(trx: Executor, store: Store, unit: Unit, w: RemoteWrite, clock: Clock | undefined): Promise<unknown> {
  switch (w.kind) {
    case 'claim': {
      // The worker read its clock before the trip here. A message committed meanwhile, due
      // after that reading, would be left behind while its wake was held back (worker-host.ts):
      // the claim takes what is due when it runs, and keeps the lease length asked for.
      const now = clock ? Math.max(w.now, clock.now()) : w.now;
      return claimDueMessages(trx, w.owner, now, w.leaseUntil + (now - w.now), w.limit, w.expiredLeases);
    }
    case 'complete':
      return applyOutcome(trx, unit.events, w.outcome, unit.attempts);
    case 'inbox':
      await insertInboxMessage(trx, w.row);
      return undefined;
  }
}

/**
 * The main thread's side: runs a batch of the worker's writes as ONE unit of its group commit
 * (one claim statement for the batch's claims, one savepoint for all its outcomes, one read of
 * each tenant's event endpoints and one insert of all the attempts). If that unit fails, each
 * write is tried again as a unit of its own, so one bad write fails alone.
 */
export function createRemoteWriteServer(store: Store, events: EventEmitter, options: { clock?: Clock } = {}) {
  const { clock } = options;
  // On PostgreSQL a statement is a round trip: a unit's outcomes go in one (completeAttempts).
  // On SQLite each runs synchronously on the held connection, which costs less than batching.
  const batchOutcomes = store.pgPool !== undefined;

  async function applyAll(trx: Executor, writes: RemoteWrite[]): Promise<unknown[]> {
    const unit: Unit = { events: events.forUnit?.() ?? events, attempts: [] };
    const out = new Array<unknown>(writes.length);
    const outcomes: Array<{ at: number; outcome: OutcomeRecord }> = [];
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      if (w.kind === 'complete' && batchOutcomes) outcomes.push({ at: i, outcome: w.outcome });
      else out[i] = await applyOne(trx, store, unit, w, clock);
    }
    if (outcomes.length > 0) {
      const held = await completeAttempts(trx, outcomes.map(({ outcome: o }) => ({ messageId: o.messageId, owner: o.owner, update: o.update })));
      for (let k = 0; k < outcomes.length; k++) {
        const { at, outcome } = outcomes[k]!;
        out[at] = held[k]!;
        if (!held[k]) continue;
        if (outcome.attempt) unit.attempts.push(outcome.attempt);
        await announce(trx, unit.events, outcome);
      }
    }
    await insertAttempts(trx, unit.attempts);
    return out;
  }

  // Per tenant, how many of its endpoints wanted an outcome's event when the store last said
  // (`need`); a tenant not here brings one delivery id per event.
  const endpointsOf = new Map<string, number>();

  /**
   * PostgreSQL: a batch of outcomes alone, each for another message and changing only columns
   * the function knows, in one statement (completeBatch) instead of a transaction of five.
   * Undefined when the batch cannot go that way, or its tenants' endpoints kept changing.
   */
  async function completeInOne(writes: RemoteWrite[]): Promise<boolean[] | undefined> {
    if (!batchOutcomes || !events.draft) return undefined;
    const outcomes: OutcomeRecord[] = [];
    const seen = new Set<string>();
    for (const w of writes) {
      if (w.kind !== 'complete' || seen.has(w.outcome.messageId)) return undefined;
      seen.add(w.outcome.messageId);
      const update = w.outcome.update as Record<string, unknown>;
      for (const k in update) if (update[k] !== undefined && !batchOutcomeColumns.has(k)) return undefined;
      outcomes.push(w.outcome);
    }
    for (let round = 0; round < 2; round++) {
      const items = outcomes.map((o) => {
        const e = outcomeEvent(o);
        return {
          id: o.messageId,
          owner: o.owner,
          tenant_id: o.tenantId,
          update: o.update,
          ...(o.attempt ? { attempt: o.attempt } : {}),
          ...(e ? { event: events.draft!(e.type, e.data, endpointsOf.get(o.tenantId) ?? 1) } : {}),
        };
      });
      const r = await completeBatch(store.db, items);
      if ('held' in r) return r.held;
      for (const [tenant, n] of Object.entries(r.need)) endpointsOf.set(tenant, n);
    }
    return undefined;
  }

  return async function run(writes: RemoteWrite[]): Promise<Result[]> {
    try {
      const held = await completeInOne(writes);
      if (held) return held.map((value) => ({ ok: true, value }));
    } catch {
      // Tried again below, as a transaction, then one by one: each write gets its own answer.
    }
    try {
      const values = await store.writes.write((trx) => applyAll(trx, writes));
      return values.map((value) => ({ ok: true, value }));
    } catch (error) {
      if (writes.length === 1) return [{ ok: false, error: (error as Error)?.message ?? String(error) }];
    }
    return Promise.all(
      writes.map((w) =>
        store.writes.write(async (trx) => (await applyAll(trx, [w]))[0]).then(
          (value): Result => ({ ok: true, value }),
          (error: unknown): Result => ({ ok: false, error: (error as Error)?.message ?? String(error) }),
        ),
      ),
    );
  };
}

/**
 * The worker's side: writes asked for during one event-loop turn go to the main thread as one
 * message, and each promise settles with its own result once the main thread committed.
 */
export function createRemoteWriteClient(post: (m: RemoteWritesRequest) => void) {
  let queue: Array<{ write: RemoteWrite; resolve(v: unknown): void; reject(e: unknown): void }> = [];
  const inFlight = new Map<number, typeof queue>();
  let nextBatch = 1;
  let scheduled = false;
  let closed = false;

  function flush() {
    scheduled = false;
    if (queue.length === 0) return;
    const items = queue;
    queue = [];
    const batch = nextBatch++;
    inFlight.set(batch, items);
    post({ type: 'writes', batch, writes: items.map((i) => i.write) });
  }

  function call<T>(write: RemoteWrite): Promise<T> {
    if (closed) return Promise.reject(new Error('the main thread no longer takes writes'));
    return new Promise<T>((resolve, reject) => {
      queue.push({ write, resolve: resolve as (v: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  }

  return {
    claim: (w: Omit<Extract<RemoteWrite, { kind: 'claim' }>, 'kind'>) => call<ClaimedMessage[]>({ kind: 'claim', ...w }),
    complete: (outcome: OutcomeRecord) => call<boolean>({ kind: 'complete', outcome }),
    inbox: (row: InboxMessagesTable) => call<void>({ kind: 'inbox', row }),
    /** The main thread's answer to a batch. */
    settle(reply: RemoteWritesReply) {
      const items = inFlight.get(reply.batch);
      if (!items) return;
      inFlight.delete(reply.batch);
      items.forEach((item, i) => {
        const r = reply.results[i];
        if (r?.ok) item.resolve(r.value);
        else item.reject(new Error(r ? r.error : 'no result from the main thread'));
      });
    },
    /** Fails every write not yet answered (the main thread is going away). */
    close() {
      closed = true;
      const err = new Error('the main thread no longer takes writes');
      for (const items of inFlight.values()) for (const i of items) i.reject(err);
      inFlight.clear();
      for (const i of queue.splice(0)) i.reject(err);
    },
  };
}

export type RemoteWriteClient = ReturnType<typeof createRemoteWriteClient>;
