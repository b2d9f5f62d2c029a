// The statistics of a window (GET /v1/stats: messages, codes and attempts per bucket) on a large
// store: counted in chunks of STATS_CHUNK_ROWS rows, as otpgate does where a read holds the
// request thread (SQLite), against the same-run baseline of one statement per count, as it
// does on PostgreSQL (and did on SQLite before). The longest statement is what a send waits
// behind on SQLite. The store is the big-store bench's (bench/big-store/build.ts), kept and reused.
// Then the fraud guard's totals per country and prefix (GET /v1/fraud-guard/stats) on SQLite, on
// a file of its own: `prefixes` prefixes with a counter in two hours of three over 30 days.
// Usage: node --import tsx bench/stats-chunks.ts [rows=1000000] [engines=sqlite,postgres] [prefixes=3000]
import { rmSync } from 'node:fs';
import type { KyselyPlugin, QueryId } from 'kysely';
import { idFloor } from '../src/domain/ids.js';
import { createStore } from '../src/store/db.js';
import { counterTotals } from '../src/store/queries/fraud.js';
import SqliteDatabase from '../src/store/sqlite-driver.js';
import { sqliteBenchFile } from './servers/bench-support.js';
import { attemptLatencyByBucket, challengeCountsByBucket, messageCountsByBucket, STATS_CHUNK_ROWS } from '../src/store/queries/stats.js';
import { statsWindows } from '../src/services/stats-service.js';
import { benchTenantId, buildPostgres, buildSqlite } from './big-store/build.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const engines = (process.argv[3] ?? 'sqlite,postgres').split(',');
const prefixes = Number(process.argv[4] ?? 3000);
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** The store's queries, each statement's time (from its compilation to its rows) kept in `times`. */
function timed(store: { db: ReturnType<typeof createStore>['db'] }) {
  const started = new Map<QueryId, number>();
  const times: number[] = [];
  const timer: KyselyPlugin = {
    transformQuery: (args) => {
      started.set(args.queryId, performance.now());
      return args.node;
    },
    transformResult: async (args) => {
      times.push(performance.now() - started.get(args.queryId)!);
      return args.result;
    },
  };
  return { db: store.db.withPlugin(timer), times };
}

for (const engine of engines) {
  const built = engine === 'sqlite' ? await buildSqlite(rows, { dir: '/tmp/otpgate-big', rebuild: false }) : await buildPostgres(rows, { serverUrl: process.env.OTPGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test', rebuild: false });
  const store = createStore(built.url);
  const { db, times } = timed(store);
  const now = built.builtAt;
  console.log(`\n${engine}, ${rows.toLocaleString('en')} rows a table (${benchTenantId}: about 70 % of them)`);
  console.log(`| window | one statement a count: total ms | its longest statement ms | in chunks of ${STATS_CHUNK_ROWS.toLocaleString('en')}: total ms | longest statement ms | statements |`);
  console.log('|---|---|---|---|---|---|');
  for (const window of ['1h', '24h', '7d'] as const) {
    const { span, bucket } = statsWindows[window];
    const since = now - span;
    const run = async (chunk: number | undefined) => {
      times.length = 0;
      const t0 = performance.now();
      // One after another, so that each statement's time is its own.
      await messageCountsByBucket(db, benchTenantId, since, bucket, idFloor('msg', since), chunk);
      await challengeCountsByBucket(db, benchTenantId, since, bucket, idFloor('chl', since), chunk);
      await attemptLatencyByBucket(db, benchTenantId, since, bucket, chunk);
      return { total: performance.now() - t0, longest: Math.max(...times), statements: times.length };
    };
    await run(undefined); // the page cache warmed for both
    const a = await run(undefined);
    const b = await run(STATS_CHUNK_ROWS);
    console.log(`| ${window} | ${fmt(a.total)} | ${fmt(a.longest)} | ${fmt(b.total)} | ${fmt(b.longest)} | ${b.statements} |`);
  }
  await store.close();
}

// The fraud guard's counters: one row per tenant, key and hour.
const file = '/tmp/otpgate-bench-counters.db';
for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
// otpgate's schema and the tenant `ten_bench`.
await sqliteBenchFile(file);
const raw = new SqliteDatabase(file);
const HOUR = 3_600_000;
const now = Math.floor(Date.now() / HOUR) * HOUR;
const insert = raw.prepare('insert into fraud_counters (tenant_id, key, bucket, sent, verified, segments, cost_micros) values (?, ?, ?, ?, ?, ?, ?)');
let counterRows = 0;
raw.transaction(() => {
  for (let h = 0; h < 720; h++) {
    for (let c = 0; c < 60; c++, counterRows++) insert.run('ten_bench', `c:${String.fromCharCode(65 + (c % 26), 65 + Math.floor(c / 26))}`, now - h * HOUR, 50, 40, 50, 5_000);
    for (let p = 0; p < prefixes; p++) if ((p * 7 + h) % 3 !== 0) (insert.run('ten_bench', `p:+1415${200 + p}`, now - h * HOUR, 3, 2, 3, 300), counterRows++);
  }
})();
raw.close();
const counters = createStore(`sqlite:${file}`);
const c = timed(counters);
console.log(`\nsqlite, the fraud guard's totals: ${counterRows.toLocaleString('en')} counter rows (60 countries, ${prefixes.toLocaleString('en')} prefixes, 30 days)`);
console.log('| window | kind | one statement ms | in chunks: total ms | longest statement ms | statements |');
console.log('|---|---|---|---|---|---|');
for (const [window, hours] of [['24h', 24], ['7d', 168], ['30d', 720]] as const) {
  for (const kind of ['c:', 'p:'] as const) {
    const limit = kind === 'c:' ? 300 : 100;
    await counterTotals(c.db, 'ten_bench', kind, now - hours * HOUR, limit);
    c.times.length = 0;
    await counterTotals(c.db, 'ten_bench', kind, now - hours * HOUR, limit);
    const one = c.times[0]!;
    c.times.length = 0;
    const t0 = performance.now();
    await counterTotals(c.db, 'ten_bench', kind, now - hours * HOUR, limit, STATS_CHUNK_ROWS);
    console.log(`| ${window} | ${kind} | ${fmt(one)} | ${fmt(performance.now() - t0)} | ${fmt(Math.max(...c.times))} | ${c.times.length} |`);
  }
}
await counters.close();
rmSync(file, { force: true });
