// The fraud guard's number-range velocity read and rule for one send, on the schema the
// migrations build: otpgate's read (`nearestNumbers`: the `numbers − 1` nearest numbers on each
// side within `span`, one statement) against the two reads it replaced, run in the same process
// on the same file: the prefix's first 200 numbers (before 60e7aa7) and every number within
// `span` (60e7aa7). Each prefix of San Francisco's 799 exchanges holds its first `lines` numbers,
// one code each, as `npm run bench -- 20 1 new` leaves them; the send goes to the number after
// the last (a walk's head) or to one in the middle (numbers on both sides).
// Usage: node --import tsx bench/velocity-read.ts [lines=150] [rounds=3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, SqliteDialect, type Transaction } from 'kysely';
import { withStatementCache } from '../src/store/db.js';
import SqliteDatabase from '../src/store/sqlite-driver.js';
import type { Database } from '../src/store/schema.js';
import { nearestNumbers } from '../src/store/queries/fraud.js';
import { registerSyncSqlite } from '../src/store/prepared.js';
import { prefixVelocityRule, velocityRange } from '../src/domain/fraud/prefix.js';
import { sqliteBenchFile } from './servers/bench-support.js';

const lines = Number(process.argv[2] ?? 150);
const rounds = Number(process.argv[3] ?? 3);
const t = { numbers: 4, span: 20, window_minutes: 10 };
const reads = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'otpgate-velocity-read-'));
const file = join(dir, 'store.db');

await sqliteBenchFile(file);

const sqlite = new SqliteDatabase(file);
sqlite.pragma('journal_mode = WAL');
const insert = sqlite.prepare(
  `insert into challenges (id, tenant_id, phone, purpose, code_hash, status, attempts, max_attempts, client_ip, is_test, message_id, created_at, expires_at, resend_available_at, verified_at, verification_id)
   values (?, 'ten_bench', ?, 'login', 'h', 'pending', 0, 5, null, 0, ?, ?, ?, ?, null, ?)`,
);
const prefixes = Array.from({ length: 799 }, (_, i) => `+1415${200 + i}`);
const at = (prefix: string, line: number) => `${prefix}${String(line).padStart(4, '0')}`;
sqlite.transaction(() => {
  let k = 0;
  for (let line = 0; line < lines; line++) {
    for (const prefix of prefixes) {
      const id = String(++k).padStart(20, '0');
      insert.run(`chl_${id}`, at(prefix, line), `msg_${id}`, 1_000 + k, 600_000 + k, 30_000 + k, `ver_${id}`);
    }
  }
})();
sqlite.exec('analyze');

// The reads it replaced, as their statements were (the prefix's first 200; every number within span).
const rangeRead = sqlite.prepare('select distinct phone from challenges where tenant_id = ? and phone >= ? and phone < ? and created_at > ? limit 200');
// As in a send: inside the write transaction, where otpgate's prepared queries run synchronously on its connection.
const connection = withStatementCache(sqlite);
const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
registerSyncSqlite(db, connection);
let trx: Transaction<Database>;

type Read = (prefix: string, e164: string) => Promise<string[]> | string[];
const candidates: Array<[string, Read]> = [
  ['the prefix’s first 200 numbers (fd37202)', (prefix) => (rangeRead.all('ten_bench', prefix, `${prefix}:`, 0) as Array<{ phone: string }>).map((r) => r.phone)],
  ['every number within span (60e7aa7)', (prefix, e164) => {
    const { from, to } = velocityRange(e164, prefix, t.span);
    return (rangeRead.all('ten_bench', from, to, 0) as Array<{ phone: string }>).map((r) => r.phone);
  }],
  ['otpgate: the nearest numbers − 1 on each side', (prefix, e164) => nearestNumbers(trx, 'ten_bench', e164, velocityRange(e164, prefix, t.span), 0, { below: t.numbers - 1, above: t.numbers - 1 })],
];

async function measure(read: Read, line: number): Promise<{ us: number; numbers: number }> {
  return db.transaction().execute(async (t) => {
    trx = t;
    return measureIn(read, line);
  });
}

async function measureIn(read: Read, line: number): Promise<{ us: number; numbers: number }> {
  let numbers = 0;
  const once = async (i: number) => {
    const prefix = prefixes[i % prefixes.length]!;
    const e164 = at(prefix, line);
    const recent = await read(prefix, e164);
    numbers += recent.length;
    prefixVelocityRule(t, prefix, e164, recent);
  };
  for (let i = 0; i < 2_000; i++) await once(i);
  numbers = 0;
  const started = performance.now();
  for (let i = 0; i < reads; i++) await once(i);
  return { us: ((performance.now() - started) * 1000) / reads, numbers: numbers / reads };
}

const out: string[] = [];
for (let r = 1; r <= rounds; r++) {
  for (const [where, line] of [['a walk’s head', lines], ['the middle', Math.floor(lines / 2)]] as const) {
    for (const [label, read] of candidates) {
      const m = await measure(read, line);
      out.push(`| ${r} | ${where} | ${label} | ${m.us.toFixed(1)} | ${m.numbers.toFixed(0)} |`);
    }
  }
}
await db.destroy();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `\nthe velocity read and rule of one send, ${lines} numbers per prefix, 799 prefixes, numbers ${t.numbers}, span ${t.span}, Node ${process.version}\n\n` +
    `| round | the send's number | read | µs per send (read + rule) | numbers read |\n|---|---|---|---|---|\n${out.join('\n')}\n`,
);
