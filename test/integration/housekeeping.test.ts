import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { newId } from '../../src/domain/ids.js';
import { BUDGET_USAGE_KEEP_MS, createHousekeeping, FRAUD_COUNTERS_KEEP_MS, FRAUD_DECISIONS_KEEP_MS } from '../../src/services/housekeeping-service.js';
import { IDEMPOTENCY_TTL_MS } from '../../src/services/otp-service.js';
import { purgeExpiredIdempotencyKeys } from '../../src/store/queries/idempotency.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

const DAY = 86_400_000;

for (const dialect of await testDialects()) {
  describe(`expired idempotency keys are purged in bounded batches (${dialect})`, () => {
    let t: TestApp;
    let auth: string;
    const clock = createManualClock();
    before(async () => {
      t = await createTestApp({ dialect, clock });
      auth = (await t.createTenant()).auth;
    });
    after(async () => t.close());

    const keys = async () => (await t.deps.store.db.selectFrom('idempotency_keys').select('key').orderBy('key').execute()).map((r) => r.key);
    const send = async (key: string, phone: string) => {
      const r = await t.call('POST', '/v1/otp/send', { auth, headers: { 'idempotency-key': key }, body: { phone_number: phone } });
      assert.equal(r.statusCode, 202, r.body);
      return r.body;
    };

    test('only expired keys go, at most a batch per write and a few batches per run', async () => {
      for (const [i, key] of ['old-1', 'old-2', 'old-3', 'old-4', 'old-5'].entries()) await send(key, `+1415555010${i}`);
      clock.advance(IDEMPOTENCY_TTL_MS);
      const fresh = await send('fresh', '+14155550109');
      assert.deepEqual(await keys(), ['fresh', 'old-1', 'old-2', 'old-3', 'old-4', 'old-5']);

      // One bounded statement.
      assert.equal(await purgeExpiredIdempotencyKeys(t.deps.store.db, clock.now(), 2), 2);
      assert.equal((await keys()).length, 4);
      // A run: batches of 1, at most 2 of them; the rest waits for the next run.
      const housekeeping = createHousekeeping(t.deps, { batchSize: 1, maxBatchesPerRun: 2 });
      assert.equal((await housekeeping.runOnce()).idempotencyKeys, 2);
      assert.equal((await keys()).length, 2);
      assert.equal((await createHousekeeping(t.deps).runOnce()).idempotencyKeys, 1);
      assert.deepEqual(await keys(), ['fresh'], 'the unexpired key stays');
      assert.equal((await createHousekeeping(t.deps).runOnce()).idempotencyKeys, 0);
      // The kept key still replays its answer (no second SMS).
      assert.equal(await send('fresh', '+14155550109'), fresh);
    });

    test('after each unit it rests restFactor times the whole unit, its wait for the store included', async () => {
      for (const [i, key] of ['rest-1', 'rest-2', 'rest-3'].entries()) await send(key, `+1415555013${i}`);
      clock.advance(IDEMPOTENCY_TTL_MS + 1);
      // A store that makes each unit wait 40 ms before it runs (a busy writer, a slow commit).
      const calls: Array<{ called: number; done: number }> = [];
      const store = {
        ...t.deps.store,
        writes: {
          async write<T>(unit: Parameters<typeof t.deps.store.writes.write<T>>[0]): Promise<T> {
            const call = { called: performance.now(), done: 0 };
            calls.push(call);
            await new Promise((r) => setTimeout(r, 40));
            const r = await t.deps.store.writes.write(unit);
            call.done = performance.now();
            return r;
          },
        },
      };
      const run = await createHousekeeping({ ...t.deps, store }, { batchSize: 1, maxBatchesPerRun: 3, restFactor: 1 }).runOnce();
      assert.equal(run.idempotencyKeys, 3);
      const units = calls.slice(0, 3);
      for (let i = 1; i < units.length; i++) {
        const gap = units[i]!.called - units[i - 1]!.done;
        assert.ok(gap >= 38, `rested ${gap.toFixed(1)} ms after a unit of 40+ ms`);
      }
    });

    test('the timer purges on its own and stops cleanly', async () => {
      await send('timer-1', '+14155550120');
      clock.advance(IDEMPOTENCY_TTL_MS + 1);
      assert.ok((await keys()).includes('timer-1'));
      const housekeeping = createHousekeeping(t.deps, { intervalMs: 20 });
      housekeeping.start();
      try {
        for (let i = 0; i < 200 && (await keys()).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(await keys(), []);
      } finally {
        await housekeeping.stop();
      }
    });
  });

  describe(`finished event deliveries are kept 30 days (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 10, 1));
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    test('older finished deliveries go in bounded batches; newer ones, and those still to send, stay', async () => {
      const { tenantId } = await t.createTenant();
      const db = t.deps.store.db;
      const now = clock.now();
      const endpoint = newId('whe', now);
      await db
        .insertInto('event_endpoints')
        .values({ id: endpoint, tenant_id: tenantId, url: 'https://hooks.example.com/otp', description: null, events: null, secret_sealed: 'x', previous_secret_sealed: null, previous_secret_until: null, enabled: 1, disabled_reason: null, failing_since: null, created_at: now, updated_at: now })
        .execute();
      // Ids made at the deliveries' own times; one old delivery was sent again a day ago ("Send again" sets created_at anew).
      const delivery = (created: number, status: 'queued' | 'delivered' | 'failed', madeAt = created) => ({
        id: newId('evd', madeAt), event_id: newId('evt', madeAt), tenant_id: tenantId, endpoint_id: endpoint, type: 'message.sent', payload: '{}', status, attempts: 1,
        next_attempt_at: created, lease_owner: null, lease_until: null, last_attempt_at: null, last_http_status: 200, last_error: null, created_at: created, updated_at: created,
      });
      const old = [...Array.from({ length: 5 }, (_, i) => delivery(now - (40 - i) * DAY, 'delivered')), delivery(now - 35 * DAY, 'failed')];
      const kept = [delivery(now - 29 * DAY, 'delivered'), delivery(now - 31 * DAY, 'queued'), delivery(now - DAY, 'delivered', now - 38 * DAY)];
      await db.insertInto('event_deliveries').values([...old, ...kept]).execute();
      const ids = async () => (await db.selectFrom('event_deliveries').select('id').where('tenant_id', '=', tenantId).orderBy('id').execute()).map((r) => r.id);

      // Batches of 2, 2 a run: 4 of the 6 old ones, then the rest.
      assert.equal((await createHousekeeping(t.deps, { batchSize: 2, maxBatchesPerRun: 2, restFactor: 0 }).runOnce()).eventDeliveries, 4);
      assert.equal((await ids()).length, 5);
      assert.equal((await createHousekeeping(t.deps).runOnce()).eventDeliveries, 2);
      assert.deepEqual(await ids(), kept.map((d) => d.id).sort());
      assert.equal((await createHousekeeping(t.deps).runOnce()).eventDeliveries, 0);
    });
  });

  describe(`the fraud guard's old counters, budget use and decisions are purged (${dialect})`, () => {
    let t: TestApp;
    const clock = createManualClock(Date.UTC(2026, 0, 10, 12));
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    const count = async (table: 'fraud_counters' | 'fraud_budget_usage' | 'fraud_decisions') =>
      Number((await t.deps.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

    test('rows past their keep time go in bounded batches; newer ones stay', async () => {
      const { auth } = await t.createTenant({
        fraud_guard: { mode: 'enforce', thresholds: { prefix_hour: { floor: 2 } } },
        budget: { daily_messages: 1000 },
      });
      // Two codes to one prefix, then a third is refused: counters, budget use and a block.
      for (const phone of ['+447400123401', '+447400123455']) {
        assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } })).statusCode, 202);
      }
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+447400123499' } })).json().code, 'fraud.blocked');
      const old = { counters: await count('fraud_counters'), budget: await count('fraud_budget_usage'), decisions: await count('fraud_decisions') };
      assert.ok(old.counters >= 2 && old.budget === 2 && old.decisions === 1, JSON.stringify(old));

      // Within every keep time of the fraud guard nothing of it goes (the two codes sent above
      // have expired meanwhile: their verifications are ended, docs/verifications.md, and a
      // month is past the 7 days codes are kept, docs/data-lifecycle.md).
      clock.advance(FRAUD_COUNTERS_KEEP_MS - 3_600_000);
      assert.deepEqual(await createHousekeeping(t.deps).runOnce(), {
        idempotencyKeys: 0,
        fraudCounters: 0,
        budgetUsage: 0,
        fraudDecisions: 0,
        expiredVerifications: 2,
        codes: 4,
        messages: 0,
        audit: 0,
        eventDeliveries: 0,
        hashedPhones: 0,
        deletedTenants: 0,
      });

      // A new send a month later writes fresh rows that must stay.
      clock.advance(2 * 3_600_000);
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+33612345678' } })).statusCode, 202);
      const fresh = await count('fraud_counters');
      // Old buckets are found by walking the keys in order (no index on time), a bounded
      // chunk per write unit, each run going on from where the last one stopped.
      const walked = createHousekeeping(t.deps, { counterScan: 1, maxBatchesPerRun: 1 });
      let removed = 0;
      for (let run = 0; run < fresh; run++) {
        const n = (await walked.runOnce()).fraudCounters;
        assert.ok(n <= 1, 'one row looked at per write unit');
        removed += n;
      }
      assert.equal(removed, old.counters, 'one walk over every row found every old bucket');
      assert.equal(await count('fraud_counters'), fresh - old.counters, "the new send's buckets stay");
      assert.equal((await createHousekeeping(t.deps).runOnce()).fraudCounters, 0);

      clock.advance(BUDGET_USAGE_KEEP_MS + FRAUD_DECISIONS_KEEP_MS);
      const run = await createHousekeeping(t.deps).runOnce();
      assert.ok(run.budgetUsage >= old.budget, JSON.stringify(run));
      assert.equal(run.fraudDecisions, 1);
      assert.equal(await count('fraud_decisions'), 0);
    });
  });
}
