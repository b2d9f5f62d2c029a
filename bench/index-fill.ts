// Pages and log frames a random insert writes into a phone-keyed SQLite index of `rows` entries,
// made in one pass after the rows (CREATE INDEX: its leaves come out full, as the big store's
// build made them before 2026-12-07) against the same index filled row by row during the load,
// keys at random (as a store that grew to that size has it). Then `batches` batches of 20,000
// random inserts, 20 a commit, each batch's log read from the -wal file's size.
// Usage: npx tsx bench/index-fill.ts [rows=2000000] [batches=4]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from '../src/store/sqlite-driver.js';

const rows = Number(process.argv[2] ?? 2_000_000);
const batches = Number(process.argv[3] ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'otpgate-index-fill-'));
// Math.imul keeps the product exact: in doubles the sequence falls into a short cycle.
let seed = 11;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 2 ** 31;
const phone = () => `+1415${String(Math.floor(rand() * 1e7)).padStart(7, '0')}`;
const pad = 'x'.repeat(100);
const index = 'create index ix on c (tenant_id, phone, purpose, created_at, id)';

console.log(`| index made | batch | log frames per insert | index pages added | µs per insert |\n|---|---|---|---|---|`);
for (const made of ['in one pass', 'during the load'] as const) {
  const file = join(dir, `${made === 'in one pass' ? 'pass' : 'load'}.db`);
  let db = new SqliteDatabase(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1048576');
  db.exec(`create table c (id text primary key, tenant_id text, phone text, purpose text, created_at integer, pad text)`);
  if (made === 'during the load') db.exec(index);
  const insert = db.prepare(`insert into c values (?, 'ten_0000000000000000000000000b', ?, 'login', ?, ?)`);
  let next = 0;
  const load = db.transaction((n: number) => {
    for (let i = 0; i < n; i++, next++) insert.run(`chl_${String(next).padStart(26, '0')}`, phone(), next, pad);
  });
  for (let i = 0; i < rows; i += 200_000) load(Math.min(200_000, rows - i));
  if (made === 'in one pass') db.exec(index);
  db.pragma('journal_mode = WAL');
  db.close();
  // As createStore opens a file (src/store/db.ts), the log kept until each batch is counted.
  db = new SqliteDatabase(file);
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -16384');
  db.pragma('wal_autocheckpoint = 0');
  const insert2 = db.prepare(`insert into c values (?, 'ten_0000000000000000000000000b', ?, 'login', ?, ?)`);
  const commit = db.transaction(() => {
    for (let j = 0; j < 20; j++, next++) insert2.run(`chl_${String(next).padStart(26, '0')}`, phone(), next, pad);
  });
  const indexPages = () => (db.prepare(`select pageno from dbstat where aggregate = 1 and name = 'ix'`).get() as { pageno: number }).pageno;
  console.log(`| ${made}: ${indexPages()} pages | – | – | – | – |`);
  for (let batch = 1; batch <= batches; batch++) {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const before = indexPages();
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < 1000; k++) commit();
    const us = Number(process.hrtime.bigint() - t0) / 20_000 / 1000;
    const frames = statSync(`${file}-wal`).size / (4096 + 24);
    console.log(`| ${made} | ${batch} | ${(frames / 20_000).toFixed(2)} | ${indexPages() - before} | ${us.toFixed(1)} |`);
  }
  db.close();
}
rmSync(dir, { recursive: true, force: true });
