// A send's read of the phone's latest code on the 10 M-row SQLite store that bench/big-store.ts
// builds: the columns a send reads (`findLatestCode`: from `challenges_latest` alone since
// migration 0033) against the whole row, which also reads the code's table row, in the same
// process on the same file, alternated. Phones drawn from the store's pool, purpose `login`.
// The first round meets the OS's page cache as it finds it; quote the later ones.
// Usage: npx tsx bench/latest-code-read.ts [file=/tmp/otpgate-big/sqlite-10000000.db] [rounds=4]
import SqliteDatabase from '../src/store/sqlite-driver.js';
import { benchTenantId, phoneOf, phonePool } from './big-store/build.js';

const file = process.argv[2] ?? '/tmp/otpgate-big/sqlite-10000000.db';
const rounds = Number(process.argv[3] ?? 4);
const reads = 20_000;
const db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
// As createStore opens a file (src/store/db.ts).
db.pragma('cache_size = -16384');
db.pragma('mmap_size = 268435456');
const where = 'from challenges where tenant_id = ? and phone = ? and purpose = ? order by created_at desc, id desc limit 1';
const reads_ = {
  'the send’s columns': db.prepare(`select id, status, created_at, expires_at, resend_available_at, verified_at, verification_id ${where}`),
  'the whole row': db.prepare(`select * ${where}`),
};
for (const [name, st] of Object.entries(reads_)) {
  const plan = db.prepare(`explain query plan ${st.source}`).all(benchTenantId, '+1', 'login') as Array<{ detail: string }>;
  console.log(`${name}: ${plan.map((r) => r.detail).join('; ')}`);
}
// The store's file is named for its rows per table (bench/big-store/build.ts).
const rows = Number(/sqlite-(\d+)\.db$/.exec(file)?.[1] ?? 10_000_000);
const pool = phonePool(rows);
let seed = 7;
// Math.imul keeps the product exact (bench/big-store.ts): in doubles the sequence falls into a short cycle.
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 2 ** 31;
console.log(`\n| round | read | µs per read | found |\n|---|---|---|---|`);
for (let round = 1; round <= rounds; round++) {
  for (const [name, st] of Object.entries(reads_)) {
    let found = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reads; i++) if (st.get(benchTenantId, phoneOf(Math.floor(rand() * pool)), 'login')) found++;
    console.log(`| ${round} | ${name} | ${(Number(process.hrtime.bigint() - t0) / reads / 1000).toFixed(1)} | ${found} |`);
  }
}
db.close();
