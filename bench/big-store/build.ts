// Builds a large otpgate store by bulk insert (not through the API) for bench/big-store.ts:
// `rows` challenges, verifications, messages and delivery attempts, spread over tenants, phones
// and time as a busy deployment's are, on SQLite (one prepared statement per table in large
// transactions) or PostgreSQL (COPY through psql). The store is kept and reused: a SQLite file
// under /tmp/otpgate-big, or the PostgreSQL database `otpgate_big_<rows>`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withPgClient } from '../servers/bench-support.js';
import SqliteDatabase from '../../src/store/sqlite-driver.js';
import { createStore, migrateToLatest } from '../../src/store/db.js';

export const DAY_MS = 86_400_000;
/** Messages and attempts span the message retention (30 days, the default) and one day more, so a day is purgeable. */
export const MESSAGE_SPAN_MS = 31 * DAY_MS;
/** Codes span the code retention (7 days after expiry, the default) and one day more. */
export const CODE_SPAN_MS = 8 * DAY_MS;
/** The default `otp_ttl_seconds`. */
const CODE_TTL_MS = 300_000;

/** What the bench tenants are allowed (nothing refused for the load's sake, fraud guard off). */
export const benchSettings = { max_sends_per_phone_per_hour: 100_000, max_sends_per_ip_per_hour: 100_000, resend_cooldown_seconds: 0, fraud_guard: { mode: 'off' } };

/** The tenants and their share of the rows: one large tenant, the one the bench sends as. */
export const tenants = [
  { id: 'ten_0000000000000000000000000b', share: 70 },
  { id: 'ten_0000000000000000000000000c', share: 20 },
  { id: 'ten_0000000000000000000000000d', share: 7 },
  { id: 'ten_0000000000000000000000000e', share: 3 },
] as const;
export const benchTenantId = tenants[0].id;

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
function b32(value: number, chars: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < chars; i++) {
    out = alphabet.charAt(v % 32) + out;
    v = Math.floor(v / 32);
  }
  return out;
}
/** A well-formed id made at `t`: ids sort by time, as otpgate's do (src/domain/ids.ts). */
const idAt = (prefix: string, t: number, i: number) => `${prefix}_${b32(t, 10)}${b32(hash(i, 7) % 2 ** 30, 6)}${b32(i, 10)}`;

/** A deterministic 32-bit hash of `i` (murmur3's finaliser). */
function hash(i: number, salt: number): number {
  let h = (i ^ Math.imul(salt, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Distinct numbers in the store: each is seen about five times per table, as returning users are. */
export const phonePool = (rows: number) => Math.max(1000, Math.floor(rows / 5));
/** The n-th number of the pool: +1 415 NXX XXXX, valid for libphonenumber. */
export function phoneOf(n: number): string {
  const exchange = 200 + (Math.floor(n / 10_000) % 800);
  return `+1415${exchange === 555 ? 556 : exchange}${String(n % 10_000).padStart(4, '0')}`;
}
const ipOf = (n: number) => `198.51.${Math.floor(n / 250) % 200}.${n % 250}`;

function tenantOf(i: number): string {
  const r = hash(i, 1) % 100;
  let acc = 0;
  for (const t of tenants) {
    acc += t.share;
    if (r < acc) return t.id;
  }
  return tenants[0].id;
}

type Value = string | number | null;
interface TableRows {
  table: 'challenges' | 'verifications' | 'messages' | 'message_attempts';
  columns: string[];
  row(i: number): Value[];
}

/** The rows of each table, as functions of the row number (the same on both engines). */
export function tableRows(rows: number, t0: number): TableRows[] {
  const pool = phonePool(rows);
  const codeAt = (i: number) => t0 - CODE_SPAN_MS + Math.floor((i * CODE_SPAN_MS) / rows);
  const messageAt = (i: number) => t0 - MESSAGE_SPAN_MS + Math.floor((i * MESSAGE_SPAN_MS) / rows);
  const phoneAt = (i: number) => phoneOf(hash(i, 2) % pool);
  const purposeAt = (i: number) => {
    const r = hash(i, 3) % 100;
    return r < 85 ? 'login' : r < 97 ? 'signup' : 'reset';
  };
  return [
    {
      table: 'verifications',
      columns: ['id', 'tenant_id', 'phone', 'purpose', 'status', 'attempts', 'max_attempts', 'code_sealed', 'amount', 'payee', 'created_at', 'updated_at', 'expires_at', 'approved_at'],
      row(i) {
        const t = codeAt(i);
        const r = hash(i, 4) % 100;
        const live = t > t0 - CODE_TTL_MS;
        const status = live && r < 30 ? 'pending' : r < 72 ? 'approved' : r < 95 ? 'expired' : r < 98 ? 'canceled' : 'max_attempts_reached';
        const approved = status === 'approved' ? t + 20_000 : null;
        return [idAt('ver', t, i), tenantOf(i), phoneAt(i), purposeAt(i), status, status === 'max_attempts_reached' ? 5 : r % 2, 5, null, null, null, t, approved ?? t, t + CODE_TTL_MS, approved];
      },
    },
    {
      table: 'challenges',
      columns: ['id', 'tenant_id', 'phone', 'purpose', 'code_hash', 'status', 'attempts', 'max_attempts', 'client_ip', 'is_test', 'message_id', 'created_at', 'expires_at', 'resend_available_at', 'verified_at', 'converted_at', 'verification_id'],
      row(i) {
        const t = codeAt(i);
        const r = hash(i, 4) % 100;
        const live = t > t0 - CODE_TTL_MS;
        // The same draw as its verification's status, so the two agree.
        const status = live && r < 30 ? 'pending' : r < 72 ? 'verified' : r < 95 ? 'expired' : r < 98 ? 'canceled' : r < 99 ? 'superseded' : 'locked';
        const verified = status === 'verified' ? t + 20_000 : null;
        return [
          idAt('chl', t, i), tenantOf(i), phoneAt(i), purposeAt(i), hash(i, 5).toString(16).padStart(8, '0').repeat(8), status, status === 'locked' ? 5 : r % 2, 5,
          ipOf(hash(i, 6) % 50_000), 0, idAt('msg', t, i), t, t + CODE_TTL_MS, t + 30_000, verified, verified, idAt('ver', t, i),
        ];
      },
    },
    {
      table: 'messages',
      columns: [
        'id', 'tenant_id', 'kind', 'challenge_id', 'purpose', 'to_phone', 'body_sealed', 'body_masked', 'sender_id', 'encoding', 'segments', 'status', 'attempts', 'chain_index', 'chain_attempts',
        'next_attempt_at', 'lease_until', 'lease_owner', 'expires_at', 'provider', 'provider_message_id', 'error_kind', 'error_code', 'error_message', 'created_at', 'updated_at', 'sent_at', 'delivered_at',
      ],
      row(i) {
        const t = messageAt(i);
        const r = hash(i, 8) % 100;
        // Every message is final: a stored backlog would be delivered by the bench's dispatcher.
        const status = r < 80 ? 'delivered' : r < 95 ? 'sent' : r < 98 ? 'undelivered' : 'failed';
        const failed = status === 'failed';
        return [
          idAt('msg', t, i), tenantOf(i), 'otp', idAt('chl', t, i), purposeAt(i), phoneAt(i), null, 'Your code is ******', null, 'GSM-7', 1, status, 1, 0, 1,
          t, null, null, t + CODE_TTL_MS, 'CustomGateway', failed ? null : `gw_${i}`, failed ? 'permanent' : null, failed ? '400' : null, failed ? 'rejected' : null,
          t, t + 2_000, failed ? null : t + 150, status === 'delivered' ? t + 2_000 : null,
        ];
      },
    },
    {
      table: 'message_attempts',
      columns: ['id', 'message_id', 'tenant_id', 'attempt_no', 'provider', 'slot', 'started_at', 'latency_ms', 'outcome', 'error_kind', 'provider_code', 'http_status', 'error_message', 'provider_message_id'],
      row(i) {
        const t = messageAt(i);
        const failed = hash(i, 8) % 100 >= 98;
        return [idAt('att', t + 1, i), idAt('msg', t, i), tenantOf(i), 1, 'CustomGateway', 'default', t + 1, 150, failed ? 'failed' : 'accepted', failed ? 'permanent' : null, failed ? '400' : null, failed ? 400 : 200, failed ? 'rejected' : null, failed ? null : `gw_${i}`];
      },
    },
  ];
}

export interface BuiltStore {
  url: string;
  rows: number;
  /** When the rows were made (their times lead up to it). */
  builtAt: number;
  buildSeconds: number;
  bytes: number;
  reused: boolean;
}

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/**
 * The indexes a send writes at a random place (keyed by phone or IP): filled row by row during
 * the load, on both engines, so that their leaves keep the room a grown store's have.
 */
const filledByLoad = new Set(['challenges_latest', 'challenges_ip']);

// ---------------------------------------------------------------- SQLite

export async function buildSqlite(rows: number, opts: { dir: string; rebuild: boolean }): Promise<BuiltStore> {
  mkdirSync(opts.dir, { recursive: true });
  const file = join(opts.dir, `sqlite-${rows}.db`);
  const metaFile = `${file}.json`;
  const url = `sqlite:${file}`;
  const sizeOf = () => ['', '-wal', '-shm'].reduce((n, s) => n + (existsSync(file + s) ? statSync(file + s).size : 0), 0);
  if (!opts.rebuild && existsSync(metaFile) && existsSync(file)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { builtAt: number; buildSeconds: number };
    return { url, rows, ...meta, bytes: sizeOf(), reused: true };
  }
  for (const s of ['', '-wal', '-shm', '.json']) rmSync(file + s, { force: true });
  const started = Date.now();
  const store = createStore(url);
  await migrateToLatest(store);
  await store.close();

  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1048576');
  db.pragma('foreign_keys = OFF');
  const t0 = Date.now();
  const insertTenant = db.prepare('insert into tenants (id, name, settings, created_at, updated_at) values (?, ?, ?, ?, ?)');
  for (const t of tenants) insertTenant.run(t.id, `Big ${t.id.slice(-1)}`, JSON.stringify(benchSettings), t0 - 400 * DAY_MS, t0 - 400 * DAY_MS);
  for (const spec of tableRows(rows, t0)) {
    // Secondary indexes are dropped for the load and made again after it (as the migrations
    // wrote them), but for `filledByLoad`: made in one pass they come out full, and the first
    // sends on the store split a leaf almost every time (docs/performance.md, 2026-12-07).
    const indexes = (db.prepare(`select name, sql from sqlite_master where type = 'index' and tbl_name = ? and sql is not null`).all(spec.table) as Array<{ name: string; sql: string }>).filter(
      (ix) => !filledByLoad.has(ix.name),
    );
    for (const ix of indexes) db.exec(`drop index "${ix.name}"`);
    const insert = db.prepare(`insert into ${spec.table} (${spec.columns.join(', ')}) values (${spec.columns.map(() => '?').join(', ')})`);
    const batch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(spec.row(i));
    });
    const tableStarted = Date.now();
    for (let from = 0; from < rows; from += 200_000) batch(from, Math.min(rows, from + 200_000));
    log(`sqlite ${spec.table}: ${rows} rows in ${((Date.now() - tableStarted) / 1000).toFixed(0)} s`);
    const ixStarted = Date.now();
    for (const ix of indexes) db.exec(ix.sql);
    log(`sqlite ${spec.table}: ${indexes.length} indexes in ${((Date.now() - ixStarted) / 1000).toFixed(0)} s`);
  }
  // No ANALYZE: otpgate never runs one, so the planner sees what it sees in production.
  db.pragma('journal_mode = WAL');
  db.close();
  const buildSeconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(metaFile, JSON.stringify({ builtAt: t0, buildSeconds }));
  return { url, rows, builtAt: t0, buildSeconds, bytes: sizeOf(), reused: false };
}

// ---------------------------------------------------------------- PostgreSQL

function dbUrl(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** COPY … FROM STDIN through psql, fed from the row functions. */
function copyRows(url: string, spec: TableRows, rows: number): Promise<void> {
  const esc = (v: Value) => (v === null ? '\\N' : String(v));
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', `copy ${spec.table} (${spec.columns.join(', ')}) from stdin`], { stdio: ['pipe', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql copy ${spec.table} exited ${code}`))));
    let i = 0;
    const pump = () => {
      while (i < rows) {
        const lines: string[] = [];
        const to = Math.min(rows, i + 5000);
        for (; i < to; i++) lines.push(spec.row(i).map(esc).join('\t'));
        if (!child.stdin.write(`${lines.join('\n')}\n`)) return void child.stdin.once('drain', pump);
      }
      child.stdin.end();
    };
    pump();
  });
}

export async function buildPostgres(rows: number, opts: { serverUrl: string; rebuild: boolean }): Promise<BuiltStore> {
  const name = `otpgate_big_${rows}`;
  const url = dbUrl(opts.serverUrl, name);
  const bytesOf = () => withPgClient(opts.serverUrl, async (c) => Number((await c.query<{ n: string }>('select pg_database_size($1) as n', [name])).rows[0]!.n));
  // The comment on the database says it was built to the end (and when).
  const meta = await withPgClient(opts.serverUrl, async (c) => {
    const r = await c.query<{ d: string | null }>(`select shobj_description(oid, 'pg_database') as d from pg_database where datname = $1`, [name]);
    return r.rows[0]?.d ? (JSON.parse(r.rows[0].d) as { builtAt: number; buildSeconds: number }) : undefined;
  });
  if (meta && !opts.rebuild) return { url, rows, ...meta, bytes: await bytesOf(), reused: true };

  const started = Date.now();
  await withPgClient(opts.serverUrl, async (c) => {
    await c.query(`drop database if exists ${name} with (force)`);
    await c.query(`create database ${name}`);
  });
  const store = createStore(url);
  await migrateToLatest(store);
  await store.close();
  const t0 = Date.now();
  await withPgClient(url, async (c) => {
    for (const t of tenants) await c.query('insert into tenants (id, name, settings, created_at, updated_at) values ($1, $2, $3, $4, $4)', [t.id, `Big ${t.id.slice(-1)}`, JSON.stringify(benchSettings), t0 - 400 * DAY_MS]);
  });
  for (const spec of tableRows(rows, t0)) {
    const indexes = await withPgClient(url, async (c) => {
      const r = await c.query<{ indexname: string; indexdef: string }>(
        `select indexname, indexdef from pg_indexes where tablename = $1 and indexname not in (select conname from pg_constraint where conrelid = $1::regclass)`,
        [spec.table],
      );
      // PostgreSQL makes an index in one pass with its leaves 90 % full (the default
      // fillfactor); random inserts leave them about 70 % full.
      const made = r.rows.filter((ix) => !filledByLoad.has(ix.indexname));
      for (const ix of made) await c.query(`drop index "${ix.indexname}"`);
      return made;
    });
    const tableStarted = Date.now();
    await copyRows(url, spec, rows);
    log(`postgres ${spec.table}: ${rows} rows in ${((Date.now() - tableStarted) / 1000).toFixed(0)} s`);
    const ixStarted = Date.now();
    await withPgClient(url, async (c) => {
      await c.query(`set maintenance_work_mem = '512MB'`);
      for (const ix of indexes) await c.query(ix.indexdef);
    });
    log(`postgres ${spec.table}: ${indexes.length} indexes in ${((Date.now() - ixStarted) / 1000).toFixed(0)} s`);
  }
  // Autovacuum would analyze tables this size soon after; the bench should not race it.
  await withPgClient(url, (c) => c.query('vacuum analyze'));
  const buildSeconds = Math.round((Date.now() - started) / 1000);
  await withPgClient(opts.serverUrl, (c) => c.query(`comment on database ${name} is '${JSON.stringify({ builtAt: t0, buildSeconds })}'`));
  return { url, rows, builtAt: t0, buildSeconds, bytes: await bytesOf(), reused: false };
}
