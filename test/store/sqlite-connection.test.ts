import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createStore, type Store } from '../../src/store/db.js';
import { createTestDatabase } from '../helpers/databases.js';

/**
 * The settings of otpgate's SQLite connections that its speed and its erasure promise rest on
 * (src/store/db.ts). The page cache in particular: every commit that follows a B-tree split
 * walks all of it, so a larger one makes writes dearer (bench/sqlite-page-cache.ts).
 */
describe('SQLite connection settings', () => {
  let store: Store;
  let reader: Store;
  let drop: () => Promise<void>;
  before(async () => {
    const db = await createTestDatabase('sqlite');
    drop = db.drop;
    store = createStore(db.url);
    reader = createStore(db.url, { readOnly: true });
  });
  after(async () => {
    await reader.close();
    await store.close();
    await drop();
  });

  async function pragma(s: Store, name: string): Promise<unknown> {
    const r = await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(s.db);
    return Object.values(r.rows[0]!)[0];
  }

  for (const [label, of] of [['the writer', () => store], ['the dispatch worker’s read-only connection', () => reader]] as const) {
    test(`${label}: WAL, a 16 MiB page cache, 256 MiB mapped, freed bytes overwritten`, async () => {
      assert.equal(await pragma(of(), 'journal_mode'), 'wal');
      assert.equal(await pragma(of(), 'cache_size'), -16384);
      assert.equal(await pragma(of(), 'mmap_size'), 268435456);
      assert.equal(await pragma(of(), 'secure_delete'), 1);
      assert.equal(await pragma(of(), 'synchronous'), 1); // NORMAL
    });
  }
});
