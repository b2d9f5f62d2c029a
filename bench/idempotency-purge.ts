// The housekeeping purge of expired idempotency keys (purgeExpiredIdempotencyKeys, batches of
// 500) on a table of 200,000 keys of which 1,500 have expired (a run every 10 minutes with keys
// kept 24 hours finds about 0.7 % of them expired), spread through the table as they are once
// deleted rows' space is reused. Run on each engine with the expiry index of
// migration 0006 and, as the same-run baseline, without it (the index dropped).
// Usage: node --import tsx bench/idempotency-purge.ts [postgres-url]
//   (default postgres://postgres@127.0.0.1:5432/test; a scratch database is made and dropped)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { createStore, migrateToLatest, type Store } from '../src/store/db.js';
import { purgeExpiredIdempotencyKeys } from '../src/store/queries/idempotency.js';

const TOTAL = 200_000;
const EXPIRED = 1_500;
const BATCH = 500;
const adminUrl = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test';

async function fill(store: Store): Promise<void> {
  await store.db.insertInto('tenants').values({ id: 'ten_bench', name: 'Bench', settings: '{}', created_at: 0, updated_at: 0 } as never).execute();
  const now = Date.now();
  const expiredAt = new Set<number>();
  while (expiredAt.size < EXPIRED) expiredAt.add(Math.floor(Math.random() * TOTAL));
  for (let start = 0; start < TOTAL; start += 1000) {
    const rows = Array.from({ length: 1000 }, (_, j) => {
      const i = start + j;
      return { tenant_id: 'ten_bench', key: `k${i}`, route: 'POST /v1/otp/send', request_hash: 'h', status_code: 202, response: '{"challenge_id":"chl_x","message_id":"msg_x"}', created_at: now - 1000, expires_at: expiredAt.has(i) ? now - 1 : now + 86_400_000 };
    });
    await store.db.insertInto('idempotency_keys').values(rows).execute();
  }
  if (store.capabilities.multiNode) await sql`analyze idempotency_keys`.execute(store.db);
}

async function purgeAll(store: Store): Promise<{ ms: number; batches: number; deleted: number }> {
  const started = performance.now();
  let batches = 0;
  let deleted = 0;
  for (;;) {
    const n = await purgeExpiredIdempotencyKeys(store.db, Date.now(), BATCH);
    batches += 1;
    deleted += n;
    if (n < BATCH) break;
  }
  return { ms: performance.now() - started, batches, deleted };
}

async function run(label: string, url: string, withIndex: boolean): Promise<void> {
  const store = createStore(url);
  try {
    await migrateToLatest(store);
    if (!withIndex) await store.db.schema.dropIndex('idempotency_expires').execute();
    const filling = performance.now();
    await fill(store);
    const fillMs = performance.now() - filling;
    const r = await purgeAll(store);
    if (r.deleted !== EXPIRED) throw new Error(`purged ${r.deleted}, expected ${EXPIRED}`);
    console.log(`| ${label} | ${withIndex ? 'with 0006' : 'without (baseline)'} | ${fillMs.toFixed(0)} | ${r.batches} | ${r.ms.toFixed(0)} | ${(r.ms / r.batches).toFixed(1)} |`);
  } finally {
    await store.close();
  }
}

console.log(`Node ${process.version}: ${TOTAL.toLocaleString('en')} keys, ${EXPIRED.toLocaleString('en')} expired, batches of ${BATCH}`);
console.log('| engine | index | inserting all keys, ms | purge batches | purge ms | ms per batch |');
console.log('|---|---|---|---|---|---|');
for (const withIndex of [false, true]) {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-bench-'));
  try {
    await run('SQLite', `sqlite:${join(dir, 'otpgate.db')}`, withIndex);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const name = `otpgate_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  try {
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    await run('PostgreSQL', u.toString(), withIndex);
  } finally {
    await admin.query(`drop database ${name} with (force)`);
    await admin.end();
  }
}
