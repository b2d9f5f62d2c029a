// The statistics of a window (GET /v1/stats: messages, codes and attempts per bucket) on a large
// store: counted in chunks of STATS_CHUNK_ROWS rows, as otpgate does where a read holds the
// request thread (SQLite), against the same-run baseline of one statement per count, as it
// does on PostgreSQL (and did on SQLite before). The longest statement is what a send waits
// behind on SQLite. The store is the big-store bench's (bench/big-store/build.ts), kept and reused.
// Usage: node --import tsx bench/stats-chunks.ts [rows=1000000] [engines=sqlite,postgres]
import type { KyselyPlugin, QueryId } from 'kysely';
import { idFloor } from '../src/domain/ids.js';
import { createStore } from '../src/store/db.js';
import { attemptLatencyByBucket, challengeCountsByBucket, messageCountsByBucket, STATS_CHUNK_ROWS } from '../src/store/queries/stats.js';
import { statsWindows } from '../src/services/stats-service.js';
import { benchTenantId, buildPostgres, buildSqlite } from './big-store/build.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const engines = (process.argv[3] ?? 'sqlite,postgres').split(',');
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

for (const engine of engines) {
  const built = engine === 'sqlite' ? await buildSqlite(rows, { dir: '/tmp/otpgate-big', rebuild: false }) : await buildPostgres(rows, { serverUrl: process.env.OTPGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test', rebuild: false });
  const store = createStore(built.url);
  // Each statement's time, from its compilation to its rows.
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
  const db = store.db.withPlugin(timer);
  const now = built.builtAt;
  console.log(`\n${engine}, ${rows.toLocaleString('en')} rows a table (${benchTenantId}: about 70 % of them)`);
  console.log('| window | one statement a count: total ms | its longest statement ms | in chunks of 5,000: total ms | longest statement ms | statements |');
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
