import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, describe, test } from 'node:test';
import { createStore, migrateToLatest, type Store } from '../../src/store/db.js';
import { lockSendKey } from '../../src/store/queries/challenges.js';
import { claimDueMessages, completeAttempt, insertMessage, nextDueAt } from '../../src/store/queries/messages.js';
import type { NewMessage } from '../../src/store/schema.js';
import { createTestDatabase, testDialects } from '../helpers/databases.js';

const dialects = await testDialects();
/** Connections per store's PostgreSQL pool. */
const POOL_SIZE = 4;

function message(id: string, now: number): NewMessage {
  return {
    id,
    tenant_id: 'ten_claims',
    kind: 'otp',
    challenge_id: null,
    purpose: 'login',
    to_phone: '+12025550100',
    body_sealed: 'sealed',
    body_masked: 'Your code is ******',
    sender_id: null,
    encoding: 'GSM-7',
    segments: 1,
    status: 'queued',
    attempts: 0,
    chain_index: 0,
    chain_attempts: 0,
    next_attempt_at: now,
    lease_until: null,
    lease_owner: null,
    expires_at: now + 300_000,
    provider: null,
    provider_message_id: null,
    error_kind: null,
    error_code: null,
    error_message: null,
    created_at: now,
    updated_at: now,
    sent_at: null,
    delivered_at: null,
  };
}

for (const dialect of dialects) {
  describe(`outbox claims under concurrency (${dialect})`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    async function freshStore(stores = 1): Promise<Store[]> {
      const db = await createTestDatabase(dialect);
      cleanups.push(db.drop);
      const out = Array.from({ length: stores }, () => createStore(db.url, { pgPoolSize: POOL_SIZE }));
      for (const s of out) cleanups.push(() => s.close());
      await migrateToLatest(out[0]!);
      await out[0]!.db.insertInto('tenants').values({ id: 'ten_claims', name: 'Claims', settings: '{}', created_at: 0, updated_at: 0 }).execute();
      return out;
    }

    test('8 claimers on 2 stores (2 nodes) never claim one message twice, due or reclaimed', async () => {
      const stores = await freshStore(2);
      const now = Date.now();
      const N = 400;
      for (let i = 0; i < N; i++) await insertMessage(stores[0]!.db, message(`msg_${String(i).padStart(4, '0')}`, now - 1000));
      // Each PostgreSQL pool opens all its connections first, at once: opened by the first
      // claims, the claimer whose connection came first could take all 400 before another's was
      // open. With them open, the eight first claims run side by side and each takes its own 7.
      for (const store of stores) {
        if (store.pgPool) await Promise.all(Array.from({ length: POOL_SIZE }, () => sql`select pg_sleep(0.05)`.execute(store.db)));
      }
      const claimedBy = new Map<string, string>();
      const dupes: string[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const store = stores[w % 2]!;
          const owner = `dsp_w${w}`;
          for (;;) {
            const t = Date.now();
            const got = await claimDueMessages(store.db, owner, t, t + 30_000, 7);
            if (got.length === 0) return;
            for (const m of got) {
              if (claimedBy.has(m.id)) dupes.push(m.id);
              claimedBy.set(m.id, owner);
            }
          }
        }),
      );
      assert.deepEqual(dupes, []);
      assert.equal(claimedBy.size, N);
      assert.ok(new Set(claimedBy.values()).size > 1, 'several claimers took part');
      // Each message is leased, in the database, to the one claimer that got it.
      const rows = await stores[0]!.db.selectFrom('messages').select(['id', 'status', 'lease_owner']).execute();
      for (const r of rows) assert.deepEqual([r.status, r.lease_owner], ['sending', claimedBy.get(r.id)], r.id);

      // Every lease runs out at once (all those owners died): the reclaim is race-free too.
      const later = Date.now() + 60_000;
      const reclaimed = new Map<string, string>();
      const reclaimedTwice: string[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const store = stores[w % 2]!;
          for (;;) {
            const got = await claimDueMessages(store.db, `dsp_r${w}`, later, later + 30_000, 7, true);
            if (got.length === 0) return;
            for (const m of got) {
              if (reclaimed.has(m.id)) reclaimedTwice.push(m.id);
              reclaimed.set(m.id, `dsp_r${w}`);
            }
          }
        }),
      );
      assert.deepEqual(reclaimedTwice, []);
      assert.equal(reclaimed.size, N);
    });

    test('an expired lease comes back to another owner; the old owner can no longer complete', async () => {
      const [store] = await freshStore();
      const s = store!;
      const now = Date.now();
      await insertMessage(s.db, message('msg_lease', now - 10));
      const first = await claimDueMessages(s.db, 'dsp_dead', now, now + 2000, 10);
      assert.equal(first.length, 1);
      assert.deepEqual(await claimDueMessages(s.db, 'dsp_other', now + 1999, now + 4000, 10, true), []);
      assert.deepEqual(await claimDueMessages(s.db, 'dsp_other', now + 2001, now + 4001, 10), [], 'not due: leased');
      assert.equal(await nextDueAt(s.db), undefined, 'nothing queued (expired leases are looked for once per poll interval)');
      const second = await claimDueMessages(s.db, 'dsp_other', now + 2001, now + 4001, 10, true);
      assert.deepEqual(second.map((m) => m.id), ['msg_lease']);
      assert.equal((await s.db.selectFrom('messages').select('lease_owner').where('id', '=', 'msg_lease').executeTakeFirstOrThrow()).lease_owner, 'dsp_other');
      assert.equal(await completeAttempt(s.db, 'msg_lease', 'dsp_dead', { status: 'sent' }, undefined), false);
      assert.equal(await completeAttempt(s.db, 'msg_lease', 'dsp_other', { status: 'sent', lease_owner: null, lease_until: null }, undefined), true);
    });

    test('the per-phone send lock serialises transactions on one key, not on others', async () => {
      const stores = await freshStore(2);
      if (!stores[0]!.capabilities.advisoryLocks) return; // SQLite: one writer at a time already.
      const order: string[] = [];
      const hold = (store: Store, key: string, tag: string, ms: number) =>
        store.db.transaction().execute(async (trx) => {
          await lockSendKey(trx, store.capabilities, key);
          order.push(`${tag}+`);
          await new Promise((r) => setTimeout(r, ms));
          order.push(`${tag}-`);
        });
      const p1 = hold(stores[0]!, 'ten:+1', 'a', 200);
      await new Promise((r) => setTimeout(r, 50));
      const p2 = hold(stores[1]!, 'ten:+1', 'b', 10);
      const p3 = hold(stores[1]!, 'ten:+2', 'c', 10);
      await Promise.all([p1, p2, p3]);
      assert.ok(order.indexOf('b+') > order.indexOf('a-'), `same key waits: ${order.join(' ')}`);
      assert.ok(order.indexOf('c-') < order.indexOf('a-'), `another key does not: ${order.join(' ')}`);
    });
  });
}
