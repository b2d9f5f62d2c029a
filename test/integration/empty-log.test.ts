import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createLogger } from '../../src/observability/logger.js';
import { createStore, migrateToLatest } from '../../src/store/db.js';
import { emptyWriteAheadLog } from '../../src/store/empty-log.js';
import SqliteDatabase from '../../src/store/sqlite-driver.js';
import { captureLogs } from '../helpers/app.js';

describe('emptying SQLite’s write-ahead log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-empty-log-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A migrated SQLite store in `dir` with a table `notes`, and a logger whose lines are captured. */
  async function notesStore(name: string) {
    const file = join(dir, name);
    const store = createStore(`sqlite:${file}`);
    await migrateToLatest(store);
    const { stream, capture } = captureLogs();
    const logger = createLogger({ level: 'info', destination: stream });
    await store.writes.write((trx) => sql`create table notes (v text not null)`.execute(trx));
    return { file, store, logger, capture };
  }

  test('a reader on the log makes every try fail, said once in the log; once it is gone the log is emptied into the file', async () => {
    const { file, store, logger, capture } = await notesStore('otpgate.db');
    await store.writes.write((trx) => sql`insert into notes (v) values ('the old text')`.execute(trx));
    // A second connection, as the dispatch worker's, inside a read transaction on the log.
    const reader = new SqliteDatabase(file, { readonly: true });
    reader.exec('begin');
    reader.prepare('select count(*) from notes').get();
    await store.writes.write((trx) => sql`update notes set v = 'the new text'`.execute(trx));
    try {
      assert.equal(await emptyWriteAheadLog(store, logger, 'test', { tries: 2, waitMs: 20 }), false);
      assert.ok(statSync(`${file}-wal`).size > 0, 'the log still holds frames');
      const warnings = capture.lines.map((l) => JSON.parse(l) as { msg: string; tries?: number }).filter((l) => l.msg.includes('could not be emptied'));
      assert.equal(warnings.length, 1, capture.text());
      assert.equal(warnings[0]!.tries, 2);
      // Writes still go on after the failed tries (the group commit was released each time).
      await store.writes.write((trx) => sql`insert into notes (v) values ('later')`.execute(trx));
    } finally {
      reader.exec('commit');
      reader.close();
    }
    assert.equal(await emptyWriteAheadLog(store, logger, 'test', { tries: 2, waitMs: 20 }), true);
    assert.equal(statSync(`${file}-wal`).size, 0, 'the log file is empty');
    const text = readFileSync(file).toString('latin1');
    assert.ok(text.includes('the new text') && text.includes('later'), 'what was in the log is in the file');
    assert.ok(!text.includes('the old text'), 'the old version is not left in the file');
    await store.close();
  });

  test('a transaction of the store’s own connection still open makes a try fail quietly; the next one, after it ends, empties the log', async () => {
    const { file, store, logger, capture } = await notesStore('own.db');
    // A transaction outside the group commit (as the operator sign-in's), open across the first try.
    let ended!: () => void;
    const open = store.db.transaction().execute(async (trx) => {
      await sql`insert into notes (v) values ('inside')`.execute(trx);
      await new Promise<void>((done) => (ended = done));
    });
    await new Promise((r) => setImmediate(r));
    const emptied = emptyWriteAheadLog(store, logger, 'test', { tries: 3, waitMs: 30 });
    setTimeout(() => ended(), 10);
    assert.equal(await emptied, true);
    await open;
    assert.equal(statSync(`${file}-wal`).size, 0);
    assert.ok(readFileSync(file).toString('latin1').includes('inside'));
    assert.equal(capture.lines.length, 0, capture.text());
    await store.close();
  });

  test('a store without a log (PostgreSQL, or no group commit) has nothing to empty', async () => {
    const logger = createLogger({ level: 'info', destination: captureLogs().stream });
    assert.equal(await emptyWriteAheadLog({ writes: { write: (unit) => unit(undefined as never) } }, logger, 'test'), true);
  });
});
