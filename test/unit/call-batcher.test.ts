import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCallBatcher } from '../../src/store/call-batcher.js';
import { sql } from 'kysely';
import { isStoreUnavailable, type StoreAvailability } from '../../src/store/availability.js';
import { createStore } from '../../src/store/db.js';

/** A store's availability the test turns away by hand. */
function availabilityByHand() {
  const listeners: Array<(detail: string) => void> = [];
  let away = false;
  const goAway = (detail: string) => {
    away = true;
    for (const l of listeners) l(detail);
  };
  const availability: StoreAvailability = {
    get away() {
      return away;
    },
    onAway: (listener) => void listeners.push(listener),
  };
  return { availability, goAway };
}

/** Calls that answer only when the test says: each call's or batch's arguments, and how to answer it. */
function heldCalls() {
  const made: Array<{ args: number[]; answer(): void }> = [];
  let changed: () => void = () => undefined;
  const next = () => new Promise<void>((resolve) => (changed = resolve));
  const hold = (args: number[]) =>
    new Promise<number[]>((resolve) => {
      made.push({ args, answer: () => resolve(args.map((a) => a * 10)) });
      changed();
    });
  return {
    made,
    /** Resolves once `n` calls or batches have been made. */
    async until(n: number) {
      while (made.length < n) await next();
    },
    calls: {
      alone: async (a: number) => (await hold([a]))[0]!,
      together: (as: number[]) => hold(as),
    },
  };
}

const settledState = async (p: Promise<unknown>) => {
  const marker = Symbol('pending');
  // A settled promise wins against a resolved one queued after it: setImmediate lets every
  // reaction already due run first.
  const winner = await Promise.race([p.then(() => 'resolved', (e: unknown) => e), new Promise((r) => setImmediate(() => r(marker)))]);
  return winner === marker ? 'pending' : winner;
};

test('the database away: calls queued behind running batches fail 503 at once, the running ones still complete', { timeout: 10_000 }, async () => {
  const held = heldCalls();
  const { availability, goAway } = availabilityByHand();
  const batcher = createCallBatcher(held.calls, { maxInFlight: 1, availability });
  const running = [batcher.call(1), batcher.call(2)];
  await held.until(1);
  assert.deepEqual(held.made[0]!.args, [1, 2], 'the first two go together');
  const queued = [batcher.call(3), batcher.call(4)];
  assert.equal(await settledState(queued[0]!), 'pending', 'behind the running batch');

  goAway('The database did not answer any query for 2000 ms');
  for (const q of queued) {
    const err = await q.then(() => assert.fail('a queued call was made'), (e: unknown) => e);
    assert.equal(isStoreUnavailable(err), true);
    assert.match((err as Error).message, /not answering \(The database did not answer any query for 2000 ms\)/);
  }
  // A call made now, with the slot taken, is not queued either.
  const late = await batcher.call(5).then(() => 'made', (e: unknown) => e);
  assert.equal(isStoreUnavailable(late), true);

  // The running batch may have been committed: it waits for its answer, and gets it.
  held.made[0]!.answer();
  assert.deepEqual(await Promise.all(running), [10, 20]);
  assert.equal(held.made.length, 1, 'the failed calls were never made');

  // With the slot free again, a call is made (it is what finds out whether the database is back).
  const probe = batcher.call(6);
  await held.until(2);
  assert.deepEqual(held.made[1]!.args, [6]);
  held.made[1]!.answer();
  assert.equal(await probe, 60);
});

test('without the store saying it is away, queued calls wait for their turn', async () => {
  const held = heldCalls();
  const { availability } = availabilityByHand();
  const batcher = createCallBatcher(held.calls, { maxInFlight: 1, availability });
  const first = batcher.call(1);
  await held.until(1);
  const second = batcher.call(2);
  assert.equal(await settledState(second), 'pending');
  held.made[0]!.answer();
  assert.equal(await first, 10);
  await held.until(2);
  held.made[1]!.answer();
  assert.equal(await second, 20);
});


test('a PostgreSQL store tells its batchers when its database goes away, and they fail what waits', { timeout: 20_000 }, async () => {
  // Port 1 refuses connections: the first query loses the connection and the pool takes the
  // database as away (src/store/pg-pool.ts).
  const store = createStore('postgres://postgres@127.0.0.1:1/test', { pgConnectTimeoutMs: 2000 });
  try {
    const availability = store.availability!;
    assert.equal(availability.away, false);
    const told: string[] = [];
    availability.onAway((detail) => told.push(detail));
    const held = heldCalls();
    const batcher = createCallBatcher(held.calls, { maxInFlight: 1, availability });
    const running = batcher.call(1);
    await held.until(1);
    const queued = batcher.call(2);

    const failed = await sql`select 1`.execute(store.db).then(() => 'answered', (e: unknown) => e);
    assert.equal(isStoreUnavailable(failed), true);
    assert.equal(availability.away, true);
    assert.equal(told.length, 1);
    assert.equal(isStoreUnavailable(await queued.then(() => 'made', (e: unknown) => e)), true, 'the queued call failed with the store');
    held.made[0]!.answer();
    assert.equal(await running, 10);
  } finally {
    await store.close();
  }
});
