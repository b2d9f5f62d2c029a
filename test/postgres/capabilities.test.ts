import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/load.js';
import { usesDispatchWorker } from '../../src/dispatcher/worker-host.js';
import { capabilitiesForUrl, createStore, migrateToLatest, type Store, type StoreCapabilities } from '../../src/store/db.js';
import { lockSendKey } from '../../src/store/queries/challenges.js';
import { TEST_ADMIN_KEY, TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestDatabase, testDialects } from '../helpers/databases.js';

/**
 * Engine differences are capability flags (STYLE.md), decided in src/store/db.ts: the
 * dispatcher's worker-thread choice and the per-phone send lock read the flags that say what
 * they need (`singleWriter`, `sharedConnections`, `advisoryLocks`), not the URL's text or an
 * unrelated flag such as `skipLocked`.
 */

const dialects = await testDialects();

describe('capabilities from the database URL', () => {
  test('SQLite: one writer, no advisory locks; a file can be opened twice, memory cannot', () => {
    const file = capabilitiesForUrl('sqlite:/tmp/otpgate-caps.db');
    assert.equal(file.singleWriter, true);
    assert.equal(file.advisoryLocks, false);
    assert.equal(file.sharedConnections, true);
    assert.equal(file.skipLocked, false);
    assert.equal(file.multiNode, false);
    assert.equal(capabilitiesForUrl('sqlite::memory:').sharedConnections, false);
  });

  test('PostgreSQL (both schemes): concurrent writers, advisory locks', () => {
    for (const url of ['postgres://u@db:5432/otpgate', 'postgresql://u@db/otpgate']) {
      const caps = capabilitiesForUrl(url);
      assert.equal(caps.singleWriter, false, url);
      assert.equal(caps.advisoryLocks, true, url);
      assert.equal(caps.sharedConnections, true, url);
      assert.equal(caps.multiNode, true, url);
    }
  });

  test('an unknown scheme is refused', () => {
    assert.throws(() => capabilitiesForUrl('mysql://db/otpgate'), /must start with sqlite: or postgres:\/\//);
  });

  test('the dispatch worker (auto) runs exactly where the store says: one writer, and a second connection possible', () => {
    const config = (url: string, mode = 'auto') =>
      loadConfig({ OTPGATE_DATABASE_URL: url, OTPGATE_DISPATCH_WORKER: mode, OTPGATE_ADMIN_KEY: TEST_ADMIN_KEY, OTPGATE_SECRET_KEY: TEST_SECRET_KEY });
    assert.equal(usesDispatchWorker(config('sqlite:/tmp/otpgate-caps.db')), true);
    assert.equal(usesDispatchWorker(config('sqlite::memory:')), false);
    assert.equal(usesDispatchWorker(config('postgres://u@db:5432/otpgate')), false);
    assert.equal(usesDispatchWorker(config('postgresql://u@db/otpgate')), false);
    assert.equal(usesDispatchWorker(config('postgres://u@db:5432/otpgate', 'on')), true);
    assert.equal(usesDispatchWorker(config('sqlite:/tmp/otpgate-caps.db', 'off')), false);
  });
});

for (const dialect of dialects) {
  describe(`store capabilities (${dialect})`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    let lastUrl = '';
    async function store(): Promise<Store> {
      const db = await createTestDatabase(dialect);
      cleanups.push(db.drop);
      lastUrl = db.url;
      const s = createStore(db.url, { pgPoolSize: 2 });
      cleanups.push(() => s.close());
      await migrateToLatest(s);
      return s;
    }

    test('createStore gives the flags capabilitiesForUrl announces', async () => {
      const s = await store();
      assert.deepEqual({ ...s.capabilities }, { ...capabilitiesForUrl(lastUrl) });
    });

    if (dialect === 'postgres') {
      /** Advisory locks this transaction holds, as pg_locks reports them. */
      async function advisoryLocksTaken(s: Store, caps: StoreCapabilities): Promise<number> {
        return s.db.transaction().execute(async (trx) => {
          await lockSendKey(trx, caps, 'ten_caps:+12025550100');
          const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()`.execute(trx);
          return rows[0]!.n;
        });
      }

      test('lockSendKey follows advisoryLocks, not skipLocked', async () => {
        const s = await store();
        assert.equal(await advisoryLocksTaken(s, s.capabilities), 1, 'PostgreSQL takes the lock');
        assert.equal(await advisoryLocksTaken(s, { ...s.capabilities, skipLocked: false }), 1, 'without SKIP LOCKED, still the lock');
        assert.equal(await advisoryLocksTaken(s, { ...s.capabilities, advisoryLocks: false, singleWriter: true }), 0, 'a single-writer engine needs none');
        await assert.rejects(advisoryLocksTaken(s, { ...s.capabilities, advisoryLocks: false }), /concurrent writers needs advisory locks/);
      });
    }
  });
}
