// The fraud guard's read of a tenant's decisions in force on one node (SQLite; the read that
// refills the guard's cache on the send path after every new decision or lift), with `rows`
// decisions kept over 90 days (as housekeeping keeps them) and a few in force: bounded to the
// decisions made in the last day and a half by id (fraud-guard.ts decisionsFor), against the
// same-run baseline of the read of every decision the tenant has, as before.
// Usage: node --import tsx bench/guard-live-decisions.ts [rows=100000] [rounds=50]
import { rmSync } from 'node:fs';
import { idFloor, newId } from '../src/domain/ids.js';
import { createStore } from '../src/store/db.js';
import { liveDecisions } from '../src/store/queries/fraud.js';
import SqliteDatabase from '../src/store/sqlite-driver.js';
import { sqliteBenchFile } from './servers/bench-support.js';

const rows = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 50);
const file = '/tmp/otpgate-bench-decisions.db';
const tenant = 'ten_bench';
const DAY = 86_400_000;
const now = Date.now();

for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
// otpgate's schema and the tenant `ten_bench`.
await sqliteBenchFile(file);
const raw = new SqliteDatabase(file);
raw.pragma('journal_mode = OFF');
const insert = raw.prepare(
  `insert into fraud_decisions (id, tenant_id, action, kind, key, rule, reason, figures, level, hits, created_at, expires_at) values (?, ?, 'block', 'number', ?, 'number_unverified', 'r', '{}', 0, 1, ?, ?)`,
);
raw.transaction(() => {
  for (let i = 0; i < rows; i++) {
    const t = now - 90 * DAY + Math.floor((i * 90 * DAY) / rows);
    insert.run(newId('fgb', t), tenant, `n:+1415555${String(i % 10_000).padStart(4, '0')}`, t, t + 15 * 60_000);
  }
})();
raw.close();

const store = createStore(`sqlite:${file}`);
const liftedSince = now - DAY;
const bounded = idFloor('fgb', liftedSince - 720 * 60_000);
const time = async (fromId: string) => {
  const times: number[] = [];
  let found = 0;
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    found = (await liveDecisions(store.db, tenant, now, liftedSince, fromId)).length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, found };
};
await time(idFloor('fgb', 0));
const all = await time(idFloor('fgb', 0));
const recent = await time(bounded);
if (all.found !== recent.found) throw new Error(`the bounded read found ${recent.found}, the whole ${all.found}`);
console.log(`sqlite, ${rows.toLocaleString('en')} decisions over 90 days, ${all.found} in force or lifted within a day; median of ${rounds} reads`);
console.log(`| the decisions of the last 36 h by id: ${recent.median.toFixed(2)} ms | every decision of the tenant (before): ${all.median.toFixed(2)} ms |`);
await store.close();
for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
