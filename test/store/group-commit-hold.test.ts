import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createStore, type Store } from '../../src/store/db.js';
import { createTestDatabase } from '../helpers/databases.js';

/**
 * WriteRunner.hold (SQLite's group commit): the dispatch worker holds the writes for the last
 * pass of a checkpoint (src/dispatcher/worker.ts). A hold lets the batch that runs commit,
 * starts no other, and keeps the units that arrive queued until it is released.
 */
describe('group commit: hold', () => {
  let store: Store;
  let reader: Store;
  let drop: () => Promise<void>;
  before(async () => {
    const db = await createTestDatabase('sqlite');
    drop = db.drop;
    store = createStore(db.url);
    reader = createStore(db.url, { readOnly: true });
    await sql`create table held_rows (id integer primary key, v text not null)`.execute(store.db);
  });
  after(async () => {
    await reader.close();
    await store.close();
    await drop();
  });

  const insert = (id: number) => store.writes.write((trx) => sql`insert into held_rows (id, v) values (${id}, 'x')`.execute(trx).then(() => id));
  async function committed(): Promise<number[]> {
    const r = await sql<{ id: number }>`select id from held_rows order by id`.execute(reader.db);
    return r.rows.map((row) => row.id);
  }
  const settled = <T>(p: Promise<T>) => {
    const state = { done: false };
    void p.then(() => (state.done = true));
    return state;
  };
  // Lets every batch that can start run to its end (each waits a setImmediate to gather units).
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };

  test('while idle it holds at once; units queue until the release, then commit together', async () => {
    const release = await store.writes.hold!();
    const a = insert(1);
    const b = insert(2);
    const state = settled(Promise.all([a, b]));
    await turns(5);
    assert.equal(state.done, false, 'no unit resolves while the writes are held');
    assert.deepEqual(await committed(), [], 'nothing is committed while the writes are held');
    release();
    release(); // a second call does nothing
    assert.deepEqual(await Promise.all([a, b]), [1, 2]);
    assert.deepEqual(await committed(), [1, 2]);
  });

  test('a hold waits for the batch that runs to commit, and holds the next one', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const running = store.writes.write(async (trx) => {
      await sql`insert into held_rows (id, v) values (10, 'x')`.execute(trx);
      await gate;
      return 10;
    });
    await turns(2); // the batch has started and waits inside its transaction
    const held = store.writes.hold!();
    const heldState = settled(held);
    const later = insert(11);
    await turns(3);
    assert.equal(heldState.done, false, 'the hold waits for the running batch');
    open();
    const release = await held;
    assert.equal(await running, 10, 'the running batch committed before the hold took effect');
    assert.ok((await committed()).includes(10));
    const laterState = settled(later);
    await turns(5);
    assert.equal(laterState.done, false, 'the unit that arrived meanwhile waits for the release');
    assert.ok(!(await committed()).includes(11));
    release();
    assert.equal(await later, 11);
  });

  test('two holds: the writes start again after both are released', async () => {
    const r1 = await store.writes.hold!();
    const r2 = await store.writes.hold!();
    const unit = insert(20);
    const state = settled(unit);
    r1();
    await turns(5);
    assert.equal(state.done, false);
    r2();
    assert.equal(await unit, 20);
  });
});
