// Pieces the benches share (bench/pg-send.ts, bench/big-store.ts, the SQLite micro-benches).
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import pg from 'pg';
import type BetterSqlite3 from 'better-sqlite3';
import SqliteDatabase from '../../src/store/sqlite-driver.js';
import { createStore, migrateToLatest } from '../../src/store/db.js';

/**
 * Starts bench/servers/otpgate.ts (SQLite, Inbox, one tenant and key), or another server `script`
 * that prints `listening <url> <key>`, in a process of its own, from the source tree `cwd`, and
 * resolves with its URL and key once it listens.
 */
export function startOtpgate(env: Record<string, string>, cwd = process.cwd(), script = 'bench/servers/otpgate.ts', startMs = 60_000): Promise<{ child: ChildProcess; url: string; key: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, OTPGATE_LOG_LEVEL: 'warn', ...env },
  });
  return new Promise((done, fail) => {
    let buf = '';
    const timer = setTimeout(() => fail(new Error('otpgate did not start')), startMs);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /listening (\S+) (\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        done({ child, url: m[1]!, key: m[2]! });
      }
    });
  });
}

/**
 * `count` numbers drawn from San Francisco's exchanges (+1 415 2XX–9XX XXXX) by a fixed
 * pseudo-random sequence: the same numbers in every run, spread so that an index keyed by
 * number is written at random.
 */
export function sanFranciscoPhones(count: number): string[] {
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, () => `+1415${200 + Math.floor(rand() * 800)}${String(Math.floor(rand() * 10_000)).padStart(4, '0')}`);
}

/**
 * Numbers not sent to before, one a call: San Francisco's exchanges in turn, for sends offered
 * at a fixed rate (each is a new number to the send path, as a new user's).
 */
export function newNumbers(): () => string {
  let k = 0;
  return () => {
    const n = k++;
    const nxx = 200 + (n % 799);
    return `+1415${nxx >= 555 ? nxx + 1 : nxx}${String(Math.floor(n / 799) % 10_000).padStart(4, '0')}`;
  };
}

/** Sends offered at `rate` a second by 20 connections for `seconds`, each to `next()`; autocannon's result. */
export function sendsAtRate(url: string, headers: Record<string, string>, rate: number, seconds: number, next: () => string) {
  return autocannon({
    url: `${url}/v1/otp/send`,
    connections: 20,
    overallRate: rate,
    duration: seconds,
    method: 'POST',
    headers,
    requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ phone_number: next() }) }) }],
  });
}

/** A connection to a bench file set up as otpgate's (WAL, `synchronous = NORMAL`, `secure_delete`). */
export function openLikeOtpgate(file: string): BetterSqlite3.Database {
  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('secure_delete = ON');
  return db;
}

/** Creates `file`: a SQLite store with otpgate's schema and one tenant, `ten_bench`, for a bench that writes its tables directly. */
export async function sqliteBenchFile(file: string): Promise<void> {
  const store = createStore(`sqlite:${file}`);
  await migrateToLatest(store);
  await store.db.insertInto('tenants').values({ id: 'ten_bench', name: 'Bench', settings: '{}', created_at: 0, updated_at: 0 } as never).execute();
  await store.close();
}

/** Runs `fn` on a connection of its own to `url` (creating and dropping bench databases). */
export async function withPgClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Stops a server process: SIGTERM, then SIGKILL if it has not exited after `killAfterMs`. */
export async function stopChild(child: ChildProcess, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(t);
}

/** A custom gateway (the outside world) that answers at once and keeps the code each phone received last. */
export async function startGateway(apiKey: string) {
  const codes = new Map<string, string>();
  let received = 0;
  let last = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['x-api-key'] !== apiKey) return void res.writeHead(401).end();
      if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key: req.headers['x-verification-key'] }));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { phone_number: string; message: string };
      const code = /\b(\d{4,10})\b/.exec(body.message)?.[1];
      if (code) codes.set(body.phone_number, code);
      received += 1;
      last = Date.now();
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"id":"gw_${received}"}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/sms`,
    codes,
    get received() {
      return received;
    },
    /** When the last message arrived (ms since the epoch; 0 before any). */
    get lastAt() {
      return last;
    },
    reset() {
      codes.clear();
      received = 0;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export type Gateway = Awaited<ReturnType<typeof startGateway>>;

/**
 * A bench tenant's fraud guard. `enforce` runs every rule of the guard on each send, with
 * thresholds out of reach so that nothing is refused (the cost of judging, not of refusing);
 * anything else is off.
 */
export function benchFraudGuard(mode: string | undefined): Record<string, unknown> {
  if (mode !== 'enforce') return { mode: 'off' };
  return {
    mode: 'enforce',
    thresholds: {
      country_day: { floor: 1_000_000 },
      country_hour: { floor: 1_000_000 },
      prefix_hour: { floor: 100_000 },
      prefix_day: { floor: 1_000_000 },
      // The default span (20), and numbers out of reach (no 100 numbers lie within 20 of each
      // other): each send reads every number within 20 of its own, up to 40, where the default
      // of 4 reads at most 6, so the bench pays at least a default tenant's read.
      prefix_velocity: { numbers: 100 },
      // The default limit (10): the benches send to US numbers only, so it cannot trip, but a
      // busy IP's countries are read as they would be.
      ip_day: { floor: 1_000_000 },
      number_day: { max: 1000 },
    },
  };
}

/**
 * How often and how long otpgate held its writes for the dispatch worker's checkpoint (every
 * request since it started), from its /metrics.
 */
export async function holdsOf(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (series: string) => Number(new RegExp(`^otpgate_sqlite_write_hold_seconds_${series} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const count = value('count');
  if (!(count > 0)) return 'no hold';
  return `${count} holds, ${((value('sum') * 1000) / count).toFixed(1)} ms on average, ${count - value('bucket{le="0.025"}')} over 25 ms`;
}
