import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CompiledQuery } from 'kysely';
import pino from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { createDispatcher } from '../../src/dispatcher/dispatcher.js';
import type { Store } from '../../src/store/db.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * src/dispatcher/dispatcher.ts: an idle look reads when the next message falls due before it
 * sleeps. A wake that comes during that read (a message committed just after the read looked)
 * must make it look again at once, not sleep until the poll.
 */
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => t?.close());

test('a wake during the idle look’s read of the next due time is not lost', async () => {
  const real = t.deps.store.db;
  // The read of the next due time waits here until the test lets it go.
  let reading!: () => void;
  const readStarted = new Promise<void>((r) => (reading = r));
  let letGo!: () => void;
  const gate = new Promise<void>((r) => (letGo = r));
  let held = false;
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === 'executeQuery') {
        return async (q: CompiledQuery) => {
          if (!held && /select "next_attempt_at" from "messages"/.test(q.sql)) {
            held = true;
            reading();
            await gate;
          }
          return target.executeQuery(q);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const store: Store = { ...t.deps.store, db };
  let claims = 0;
  const delivered: string[] = [];
  const d = createDispatcher({
    store,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    concurrency: 2,
    leaseMs: 60_000,
    // Far longer than the test: only a wake can make it look again.
    pollMs: 600_000,
    claimVia: async (claim) => {
      if (claim.expiredLeases) return [];
      claims += 1;
      // The second look finds the message that came during the first one's read.
      return claims === 2 ? [{ id: 'msg_woken' } as never] : [];
    },
    deliver: async (_owner, m) => {
      delivered.push(m.id);
      return 'sent' as never;
    },
  });
  d.start();
  await readStarted;
  d.wake();
  letGo();
  const deadline = Date.now() + 10_000;
  while (delivered.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(delivered, ['msg_woken'], 'the wake made the dispatcher look again');
  await d.stop(1000);
});
