// An export's or erasure's reads of the rows that may name a number in their text (idempotency
// keys' answers, audit entries, event deliveries), on SQLite with `rows` of each for one tenant:
// read a window of 5,000 rows at a time (src/store/queries/phone-data.ts), against the
// same-run baseline of one statement per table, as before, which on SQLite holds the request
// thread for the whole walk (event deliveries have no index on the tenant: the whole table).
// Usage: node --import tsx bench/phone-walks.ts [rows=1000000]
import { rmSync } from 'node:fs';
import { newId } from '../src/domain/ids.js';
import { createStore, type Executor } from '../src/store/db.js';
import { auditMentioning, eventDeliveriesMentioning, idempotencyMentioning } from '../src/store/queries/phone-data.js';
import SqliteDatabase from '../src/store/sqlite-driver.js';
import { sqliteBenchFile } from './servers/bench-support.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const WINDOW = 5_000;
const file = '/tmp/otpgate-bench-phone-walks.db';
const tenant = 'ten_bench';
const endpoint = 'whe_bench';
const needle = '+14155550143';
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
// otpgate's schema and the tenant `ten_bench`.
await sqliteBenchFile(file);
const raw = new SqliteDatabase(file);
raw.pragma('journal_mode = OFF');
const t0 = Date.now() - 86_400_000;
raw.prepare(`insert into event_endpoints (id, tenant_id, url, secret_sealed, enabled, created_at, updated_at) values (?, ?, 'https://hooks.example.com', 'x', 1, 0, 0)`).run(endpoint, tenant);
const idem = raw.prepare(`insert into idempotency_keys (tenant_id, key, route, request_hash, status_code, response, created_at, expires_at) values (?, ?, 'POST /v1/otp/send', 'h', 202, ?, ?, ?)`);
const audit = raw.prepare(`insert into audit_log (id, tenant_id, actor, action, target, details, created_at) values (?, ?, 'key_x', 'tenant.updated', 'settings', ?, ?)`);
const event = raw.prepare(
  `insert into event_deliveries (id, event_id, tenant_id, endpoint_id, type, payload, status, attempts, next_attempt_at, last_http_status, created_at, updated_at) values (?, ?, ?, ?, 'message.sent', ?, 'delivered', 1, ?, 200, ?, ?)`,
);
raw.transaction(() => {
  for (let i = 0; i < rows; i++) {
    const t = t0 + Math.floor((i * 86_400_000) / rows);
    const to = i === 0 || i === rows - 1 ? needle : `+1415666${String(i % 10_000).padStart(4, '0')}`;
    idem.run(tenant, `key-${String(i).padStart(8, '0')}`, JSON.stringify({ challenge_id: newId('chl', t), message_id: newId('msg', t), to }), t, t + 86_400_000);
    audit.run(newId('aud', t), tenant, JSON.stringify({ test_numbers: [to] }), t);
    event.run(newId('evd', t), newId('evt', t), tenant, endpoint, JSON.stringify({ message_id: newId('msg', t), to, status: 'sent' }), t, t, t);
  }
})();
raw.close();

const store = createStore(`sqlite:${file}`);
const db: Executor = store.db;
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const out = await fn();
  return [out, performance.now() - started];
};
/** Window after window: the longest read and the whole. */
async function walk<R>(read: (after: string | undefined) => Promise<{ rows: R[]; last: string | undefined }>) {
  let after: string | undefined;
  let longest = 0;
  let whole = 0;
  let found = 0;
  let reads = 0;
  for (;;) {
    const [{ rows: got, last }, ms] = await timed(() => read(after));
    longest = Math.max(longest, ms);
    whole += ms;
    found += got.length;
    reads++;
    if (last === undefined) return { longest, whole, found, reads };
    after = last;
  }
}

console.log(`sqlite, ${rows.toLocaleString('en')} rows of each table for one tenant, the number in 2 of each`);
console.log('| table | one statement ms (before) | windows: longest read ms | windows: whole ms | reads | found |');
console.log('|---|---|---|---|---|---|');
const cases: Array<{ table: string; before: () => Promise<unknown[]>; windows: () => ReturnType<typeof walk> }> = [
  {
    table: 'idempotency_keys',
    before: () => db.selectFrom('idempotency_keys').select(['key', 'response']).where('tenant_id', '=', tenant).where('response', 'like', `%${needle}%`).orderBy('key').execute(),
    windows: () => walk((after) => idempotencyMentioning(db, tenant, needle, after, WINDOW)),
  },
  {
    table: 'audit_log',
    before: () =>
      db
        .selectFrom('audit_log')
        .select(['id', 'details'])
        .where('tenant_id', '=', tenant)
        .where((eb) => eb.or([eb('details', 'like', `%${needle}%`), eb('target', 'like', `%${needle}%`)]))
        .orderBy('id')
        .execute(),
    windows: () => walk((after) => auditMentioning(db, tenant, [needle], after, WINDOW)),
  },
  {
    table: 'event_deliveries',
    before: () =>
      db
        .selectFrom('event_deliveries')
        .select(['id', 'payload'])
        .where('tenant_id', '=', tenant)
        .where((eb) => eb.or([eb('payload', 'like', `%${needle}%`), eb('last_error', 'like', `%${needle}%`)]))
        .orderBy('id')
        .execute(),
    windows: () => walk((after) => eventDeliveriesMentioning(db, tenant, endpoint, needle, after, WINDOW)),
  },
];
for (const c of cases) {
  await c.before(); // the page cache warmed for both
  const [found, one] = await timed(c.before);
  const w = await c.windows();
  if (w.found !== found.length) throw new Error(`${c.table}: the windows found ${w.found}, the statement ${found.length}`);
  console.log(`| ${c.table} | ${fmt(one)} | ${fmt(w.longest)} | ${fmt(w.whole)} | ${w.reads} | ${w.found} |`);
}
await store.close();
for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
