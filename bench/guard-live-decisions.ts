// The fraud guard's read of a tenant's decisions in force on one node (SQLite; the read that
// refills the guard's cache on the send path after every new decision or lift), with `rows`
// decisions kept over 90 days (as housekeeping keeps them) and a few in force: bounded to the
// decisions made in the last day and a half by id (fraud-guard.ts decisionsFor), against the
// same-run baseline of the read of every decision the tenant has, as before. Then the decision
// list filtered by action (one decision in 1,000 a block, the rest would-blocks): a page of blocks
// through `fraud_decisions_tenant_action` (migration 0031), against the same store without it.
// Usage: node --import tsx bench/guard-live-decisions.ts [rows=100000] [rounds=50]
import { rmSync } from 'node:fs';
import { idFloor, newId } from '../src/domain/ids.js';
import { createStore } from '../src/store/db.js';
import { listDecisions, liveDecisions } from '../src/store/queries/fraud.js';
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
  `insert into fraud_decisions (id, tenant_id, action, kind, key, rule, reason, figures, level, hits, created_at, expires_at) values (?, ?, ?, 'number', ?, 'number_unverified', 'r', '{}', 0, 1, ?, ?)`,
);
raw.transaction(() => {
  for (let i = 0; i < rows; i++) {
    const t = now - 90 * DAY + Math.floor((i * 90 * DAY) / rows);
    insert.run(newId('fgb', t), tenant, i >= rows / 2 && i % 1000 === 0 ? 'block' : 'would_block', `n:+1415555${String(i % 10_000).padStart(4, '0')}`, t, t + 15 * 60_000);
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

const medianOf = async (read: () => Promise<unknown>) => {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await read();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
};
// The route's read: a page of 50 and one more, then the next page from its cursor.
const pages = async () => {
  const first = await listDecisions(store.db, tenant, 51, { action: 'block' });
  const second = await listDecisions(store.db, tenant, 51, { action: 'block', beforeId: first[49]!.id });
  // Past the oldest block: a list that finds nothing (as `action=block` for a tenant in record_only).
  const oldest = (await store.db.selectFrom('fraud_decisions').select('id').where('action', '=', 'block').orderBy('id').limit(1).executeTakeFirstOrThrow()).id;
  return {
    first: await medianOf(() => listDecisions(store.db, tenant, 51, { action: 'block' })),
    second: await medianOf(() => listDecisions(store.db, tenant, 51, { action: 'block', beforeId: first[49]!.id })),
    none: await medianOf(() => listDecisions(store.db, tenant, 51, { action: 'block', beforeId: oldest })),
    found: first.length + second.length,
  };
};
const indexed = await pages();
await store.db.schema.dropIndex('fraud_decisions_tenant_action').execute();
const walked = await pages();
if (indexed.found !== walked.found) throw new Error(`the indexed list found ${indexed.found}, the walk ${walked.found}`);
console.log(`the decision list filtered by action=block (1 in 1,000 decisions of the newest 45 days), pages of 50, median of ${rounds} reads`);
const line = (r: typeof indexed) => `first page ${r.first.toFixed(2)} ms, second ${r.second.toFixed(2)} ms, past the oldest block (45 days of would-blocks) ${r.none.toFixed(2)} ms`;
console.log(`| fraud_decisions_tenant_action: ${line(indexed)} | without it (before): ${line(walked)} |`);
await store.close();
for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
