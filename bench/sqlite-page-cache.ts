// What the size of SQLite's page cache costs a batch of writes, same run: batches shaped like
// the group commit's (8 units, each a savepoint, a lookup by a random phone and an insert into
// a table with two random-key indexes), on a file grown past the 256 MiB otpgate maps, at the
// page cache otpgate sets against 2 MiB (SQLite's default) and 64 MiB.
//
// Usage: npx tsx bench/sqlite-page-cache.ts [batches]   (default 150000: a file of ~600 MB)
//
// Why it matters: a B-tree split that reorders its pages parks one under the lock-byte page's
// number (1 GiB ÷ page size + 1), and the commit then walks the whole page cache to drop
// pages past the file's end. The bigger the cache, the longer that walk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from '../src/store/sqlite-driver.js';

const batches = Number(process.argv[2] ?? 150_000);
const window = Math.max(1, Math.floor(batches / 6));

function run(cacheKiB: number): { pages: number; commitUs: number; batchUs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-page-cache-'));
  const file = join(dir, 'bench.db');
  const db = new SqliteDatabase(file);
  // The settings of src/store/db.ts but the cache; the dispatch worker's connection
  // checkpoints (the writer's automatic checkpoints are off).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('secure_delete = ON');
  db.pragma(`cache_size = -${cacheKiB}`);
  db.pragma('mmap_size = 268435456');
  db.pragma('wal_autocheckpoint = 0');
  const checkpointer = new SqliteDatabase(file);
  checkpointer.pragma('mmap_size = 268435456');
  db.exec(`create table t (id integer primary key, phone text, ip text, body text, status text);
    create index t_phone on t (phone, id); create index t_ip on t (ip, id);
    create index t_due on t (id) where status = 'q'`);
  const lookup = db.prepare('select count(*) from t where phone = ?');
  const insert = db.prepare(`insert into t (phone, ip, body, status) values (?, ?, ?, 'q')`);
  const claim = db.prepare(`update t set status = 's' where id in (select id from t where status = 'q' order by id limit 8)`);
  const [begin, commit, savepoint, release] = ['begin immediate', 'commit', 'savepoint unit', 'release savepoint unit'].map((s) => db.prepare(s));
  let seed = 7;
  const phone = () => `+1415${String((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 10_000_000).padStart(7, '0')}`;
  const body = 'x'.repeat(400);
  let commitNs = 0n;
  let batchNs = 0n;
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    begin!.run();
    for (let i = 0; i < 8; i++) {
      savepoint!.run();
      const p = phone();
      lookup.get(p);
      insert.run(p, phone(), body);
      release!.run();
    }
    const t1 = process.hrtime.bigint();
    commit!.run();
    const t2 = process.hrtime.bigint();
    claim.run();
    if (b % 50 === 0) checkpointer.pragma('wal_checkpoint(PASSIVE)');
    // Only the last window counts: by then the file is past the mapped 256 MiB and the cache full.
    if (b >= batches - window) {
      commitNs += t2 - t1;
      batchNs += t2 - t0;
    }
  }
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.close();
  checkpointer.close();
  rmSync(dir, { recursive: true, force: true });
  return { pages, commitUs: Number(commitNs / BigInt(window)) / 1000, batchUs: Number(batchNs / BigInt(window)) / 1000 };
}

process.stdout.write(`\n${batches} batches of 8 units, the last ${window} measured, Node ${process.version}\n\n| page cache | file pages | commit µs | batch µs |\n|---|---|---|---|\n`);
for (const cacheKiB of [16_384, 2_000, 65_536]) {
  const r = run(cacheKiB);
  process.stdout.write(`| ${cacheKiB} KiB${cacheKiB === 16_384 ? ' (otpgate)' : ''} | ${r.pages} | ${r.commitUs.toFixed(1)} | ${r.batchUs.toFixed(1)} |\n`);
}
