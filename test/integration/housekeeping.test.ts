import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createHousekeeping } from '../../src/services/housekeeping-service.js';
import { IDEMPOTENCY_TTL_MS } from '../../src/services/otp-service.js';
import { purgeExpiredIdempotencyKeys } from '../../src/store/queries/idempotency.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

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
      assert.deepEqual(await housekeeping.runOnce(), { idempotencyKeys: 2 });
      assert.equal((await keys()).length, 2);
      assert.deepEqual(await createHousekeeping(t.deps).runOnce(), { idempotencyKeys: 1 });
      assert.deepEqual(await keys(), ['fresh'], 'the unexpired key stays');
      assert.deepEqual(await createHousekeeping(t.deps).runOnce(), { idempotencyKeys: 0 });
      // The kept key still replays its answer (no second SMS).
      assert.equal(await send('fresh', '+14155550109'), fresh);
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
}
