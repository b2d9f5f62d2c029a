import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, migrateToLatest, type Store } from '../../src/store/db.js';
import { supersedeBeyondNewest } from '../../src/store/queries/challenges.js';
import { createTestDatabase, testDialects } from '../helpers/databases.js';

/**
 * A send that joins a verification leaves only its newest three pending codes pending, in one
 * statement (src/store/queries/challenges.ts), on both engines.
 */
for (const dialect of await testDialects()) {
  describe(`supersedeBeyondNewest (${dialect})`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    const id = (prefix: string, i: number) => `${prefix}_${String(i).padStart(26, '0')}`;

    before(async () => {
      const db = await createTestDatabase(dialect);
      drop = db.drop;
      store = createStore(db.url);
      await migrateToLatest(store);
      await store.db.insertInto('tenants').values({ id: 'ten_a', name: 'a', settings: '{}', created_at: 0, updated_at: 0 }).execute();
      const verification = (v: string) => ({
        id: v, tenant_id: 'ten_a', phone: '+447400123456', purpose: 'login', status: 'pending' as const, attempts: 0, max_attempts: 5,
        code_sealed: null, amount: null, payee: null, created_at: 0, updated_at: 0, expires_at: 600_000, approved_at: null,
      });
      await store.db.insertInto('verifications').values([verification('ver_a'), verification('ver_b')]).execute();
      // ver_a: six codes, the second verified already and the rest pending; ver_b: five pending.
      // Two codes share a created_at: the id breaks the tie, as the verify's read does.
      const codes = [
        ...[0, 1, 2, 3, 4, 5].map((i) => ({ i, v: 'ver_a', status: i === 1 ? ('verified' as const) : ('pending' as const), at: i === 5 ? 4_000 : i * 1_000 })),
        ...[6, 7, 8, 9, 10].map((i) => ({ i, v: 'ver_b', status: 'pending' as const, at: i * 1_000 })),
      ];
      await store.db
        .insertInto('challenges')
        .values(
          codes.map(({ i, v, status, at }) => ({
            id: id('chl', i), tenant_id: 'ten_a', phone: '+447400123456', purpose: 'login', code_hash: 'x', status, attempts: 0, max_attempts: 5,
            client_ip: null, is_test: 0, message_id: null, created_at: at, expires_at: at + 600_000, resend_available_at: at,
            verified_at: status === 'verified' ? at : null, verification_id: v,
          })),
        )
        .execute();
    });
    after(async () => {
      await store.close();
      await drop();
    });

    const statuses = async (v: string) =>
      (await store.db.selectFrom('challenges').select(['id', 'status']).where('verification_id', '=', v).orderBy('id').execute()).map((r) => `${r.id.slice(-2)}:${r.status}`);

    test('only the pending codes older than the newest three are superseded; other verifications and ended codes are left alone', async () => {
      assert.equal(await supersedeBeyondNewest(store.db, 'ver_a', 3), 2);
      // Pending by age (created_at, then id): 0, 2, 3, then 4 and 5 at the same time.
      assert.deepEqual(await statuses('ver_a'), ['00:superseded', '01:verified', '02:superseded', '03:pending', '04:pending', '05:pending']);
      assert.deepEqual(await statuses('ver_b'), ['06:pending', '07:pending', '08:pending', '09:pending', '10:pending']);
    });

    test('a second call changes nothing; fewer codes than kept change nothing', async () => {
      assert.equal(await supersedeBeyondNewest(store.db, 'ver_a', 3), 0);
      assert.equal(await supersedeBeyondNewest(store.db, 'ver_b', 5), 0);
      assert.equal(await supersedeBeyondNewest(store.db, 'ver_none', 3), 0);
      assert.deepEqual(await statuses('ver_b'), ['06:pending', '07:pending', '08:pending', '09:pending', '10:pending']);
    });
  });
}
