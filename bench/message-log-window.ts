// The message log's filtered reads on a large log (GET /v1/messages and its CSV export): each
// read looks at a window of the tenant's messages (listMessagesIn) and time filters become an
// id range (messageIdRange), against the same-run baseline of the one statement per page the
// log used before, which walks the tenant's log until `limit` rows match. On SQLite a statement
// holds the request thread, so the longest one is what a send waits behind.
// The store is the big-store bench's (bench/big-store/build.ts), kept and reused.
// Usage: node --import tsx bench/message-log-window.ts [rows=1000000] [engines=sqlite,postgres]
import { idFloor } from '../src/domain/ids.js';
import { createStore, type Executor } from '../src/store/db.js';
import { listMessagesIn, messageIdRange, type MessageFilter } from '../src/store/queries/messages.js';
import type { Message } from '../src/store/schema.js';
import { benchTenantId, buildPostgres, buildSqlite, DAY_MS, phoneOf } from './big-store/build.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const engines = (process.argv[3] ?? 'sqlite,postgres').split(',');
const PAGE = 26;
const floor = (t: number) => idFloor('msg', t);

/** The read a page made before windows: one statement, walking until `limit` rows match. */
async function wholeWalk(db: Executor, f: MessageFilter, limit: number): Promise<Message[]> {
  let q = db.selectFrom('messages').selectAll().where('tenant_id', '=', benchTenantId);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.kind) q = q.where('kind', '=', f.kind as Message['kind']);
  if (f.provider) q = q.where('provider', '=', f.provider);
  if (f.from !== undefined) q = q.where('created_at', '>=', f.from);
  if (f.to !== undefined) q = q.where('created_at', '<', f.to);
  if (f.phoneForms) q = q.where('to_phone', 'in', [...f.phoneForms]);
  if (f.beforeId) q = q.where('id', '<', f.beforeId);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

interface Walk {
  firstPageMs: number;
  longestMs: number;
  reads: number;
  totalMs: number;
  found: number;
}

/** Times every read: the first page, then every page to the end of the filter's range (the CSV's walk). */
async function timed<T>(reads: number[], fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const out = await fn();
  reads.push(performance.now() - started);
  return out;
}

async function oldWalk(db: Executor, f: MessageFilter): Promise<Walk> {
  const reads: number[] = [];
  await timed(reads, () => wholeWalk(db, f, PAGE));
  const firstPageMs = reads[0]!;
  reads.length = 0;
  let found = 0;
  let beforeId: string | undefined;
  for (;;) {
    const page = await timed(reads, () => wholeWalk(db, { ...f, ...(beforeId ? { beforeId } : {}) }, 500));
    found += page.length;
    if (page.length < 500) break;
    beforeId = page.at(-1)!.id;
  }
  return { firstPageMs, longestMs: Math.max(firstPageMs, ...reads), reads: reads.length, totalMs: reads.reduce((a, b) => a + b, 0), found };
}

async function newWalk(db: Executor, f: MessageFilter): Promise<Walk> {
  const first: number[] = [];
  const range0 = await timed(first, () => messageIdRange(db, benchTenantId, f, floor));
  if (range0) await timed(first, () => listMessagesIn(db, benchTenantId, f, range0, PAGE));
  const reads: number[] = [];
  let found = 0;
  const range = await timed(reads, () => messageIdRange(db, benchTenantId, f, floor));
  while (range) {
    const { rows: page, low } = await timed(reads, () => listMessagesIn(db, benchTenantId, f, range, 500));
    found += page.length;
    if (page.length === 500) range.below = page.at(-1)!.id;
    else if (low !== undefined) range.below = low;
    else break;
  }
  return { firstPageMs: first.reduce((a, b) => a + b, 0), longestMs: Math.max(...first, ...reads), reads: reads.length, totalMs: reads.reduce((a, b) => a + b, 0), found };
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

for (const engine of engines) {
  const built = engine === 'sqlite' ? await buildSqlite(rows, { dir: '/tmp/otpgate-big', rebuild: false }) : await buildPostgres(rows, { serverUrl: process.env.OTPGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test', rebuild: false });
  const store = createStore(built.url);
  const db = store.db;
  const t0 = built.builtAt;
  const filters: Array<[string, MessageFilter]> = [
    ['kind=event (none)', { kind: 'event' }],
    ['provider=Twilio (none)', { provider: 'Twilio' }],
    ['phone_number (a few)', { phoneForms: [phoneOf(17)] }],
    ['status=failed (2 %)', { status: 'failed' }],
    ['to=15 days ago', { to: t0 - 15 * DAY_MS }],
    ['from=2 days ago, kind=event', { from: t0 - 2 * DAY_MS, kind: 'event' }],
  ];
  // One read of each first, so both sides find the file in the page cache.
  for (const [, f] of filters) await wholeWalk(db, f, PAGE);
  console.log(`\n${engine}, ${rows.toLocaleString('en')} messages in the store (${benchTenantId}: about 70 %)`);
  console.log('| filter | before: first page ms | before: longest read ms | windows: first page ms | windows: longest read ms | before: every page, reads / ms | windows: every page, reads / ms | rows |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [label, f] of filters) {
    const a = await oldWalk(db, f);
    const b = await newWalk(db, f);
    if (a.found !== b.found) throw new Error(`${label}: the windowed walk found ${b.found} rows, the whole walk ${a.found}`);
    console.log(`| ${label} | ${fmt(a.firstPageMs)} | ${fmt(a.longestMs)} | ${fmt(b.firstPageMs)} | ${fmt(b.longestMs)} | ${a.reads} / ${fmt(a.totalMs)} | ${b.reads} / ${fmt(b.totalMs)} | ${a.found} |`);
  }
  await store.close();
}
