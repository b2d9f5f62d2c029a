import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator } from 'kysely';
import { createStore, migrateToLatest, type Store } from '../../src/store/db.js';
import { staticMigrationProvider } from '../../src/store/migrations/index.js';
import { createTestDatabase, testDialects } from '../helpers/databases.js';

/**
 * Migration 0009-verifications: a code pending at the upgrade becomes a verification of its
 * own with the attempts it had used; a code that had ended keeps none.
 */
for (const dialect of await testDialects()) {
  describe(`migration 0009-verifications (${dialect})`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    before(async () => {
      const db = await createTestDatabase(dialect);
      drop = db.drop;
      store = createStore(db.url);
    });
    after(async () => {
      await store.close();
      await drop();
    });

    test('pending codes get a verification; ended ones none', async () => {
      const migrator = new Migrator({ db: store.db, provider: staticMigrationProvider });
      const to7 = await migrator.migrateTo('0007-fraud-guard');
      assert.equal(to7.error, undefined);
      const db = store.db as unknown as import('kysely').Kysely<any>;
      await db.insertInto('tenants').values({ id: 'ten_a', name: 'a', settings: '{}', created_at: 0, updated_at: 0 }).execute();
      const row = (id: string, status: string, attempts: number) => ({
        id, tenant_id: 'ten_a', phone: '+14155550100', purpose: 'login', code_hash: 'h', status, attempts, max_attempts: 5,
        client_ip: null, is_test: 0, message_id: null, created_at: 1_000, expires_at: 301_000, resend_available_at: 31_000, verified_at: null,
      });
      await db.insertInto('challenges').values([row('chl_0000000000aaaaaaaaaaaaaaaa', 'pending', 2), row('chl_0000000000bbbbbbbbbbbbbbbb', 'superseded', 0)]).execute();

      await migrateToLatest(store);
      const challenges = await store.db.selectFrom('challenges').select(['id', 'verification_id']).orderBy('id').execute();
      assert.deepEqual(challenges, [
        { id: 'chl_0000000000aaaaaaaaaaaaaaaa', verification_id: 'ver_0000000000aaaaaaaaaaaaaaaa' },
        { id: 'chl_0000000000bbbbbbbbbbbbbbbb', verification_id: null },
      ]);
      const v = await store.db.selectFrom('verifications').selectAll().execute();
      assert.equal(v.length, 1);
      assert.equal(v[0]!.status, 'pending');
      assert.equal(v[0]!.attempts, 2);
      assert.equal(v[0]!.max_attempts, 5);
      assert.equal(Number(v[0]!.expires_at), 301_000);
      assert.equal(v[0]!.code_sealed, null);
    });
  });
}
