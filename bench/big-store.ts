// Cost as data grows: send and verify on an empty store against a store that already holds
// `rows` challenges, verifications, messages and delivery attempts, same run, same request
// bodies, on SQLite and PostgreSQL; then the p99 of sends while housekeeping purges a day of
// expired rows against the p99 of the same load just before.
//
// Usage: npx tsx bench/big-store.ts [--rows 10000000] [--engines sqlite,postgres] [--rebuild]
//          [--requests 20000] [--seconds 30] [--build-only] [--cache as-is|cold|warm]      (npm run bench:big -- …)
//   --cache  the big store's files in the OS's page cache before its phase: as the last run left
//            them (as-is, the default), dropped (cold: sync, then /proc/sys/vm/drop_caches; root),
//            or read once in full (warm: a store that fits in memory; PostgreSQL's data folder
//            must be readable, as root on the server's machine)
//   OTPGATE_BENCH_PG_URL  server for the PostgreSQL stores (default postgres://postgres@127.0.0.1:5432/test)
//   OTPGATE_BENCH_BIG_DIR where the SQLite store is kept (default /tmp/otpgate-big)
//   OTPGATE_BENCH_PROFILE_DIR  write a CPU profile of each otpgate node there (node --cpu-prof)
//
// The big stores are built once (bench/big-store/build.ts) and reused by later runs until
// --rebuild; each run's purge removes the store's oldest day of messages and codes. Quote the
// runs after the first: the first shares the disk with the OS writing the build out
// (docs/performance.md, 2026-12-07). The build fills the indexes keyed by phone or IP during the
// load, as a store that grew has them; the others are made after it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { cpus, tmpdir, totalmem } from 'node:os';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { pgNodeEnv } from './servers/node-env.js';
import { holdsOf, startGateway, stopChild, withPgClient } from './servers/bench-support.js';
import { benchTenantId, buildPostgres, buildSqlite, phoneOf, phonePool, type BuiltStore } from './big-store/build.js';
import SqliteDatabase from '../src/store/sqlite-driver.js';
import { idFloor } from '../src/domain/ids.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    engines: { type: 'string', default: 'sqlite,postgres' },
    rebuild: { type: 'boolean', default: false },
    requests: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '30' },
    'build-only': { type: 'boolean', default: false },
    cache: { type: 'string', default: 'as-is' },
  },
});
const cacheMode = args.cache!;
if (cacheMode !== 'as-is' && cacheMode !== 'cold' && cacheMode !== 'warm') throw new Error('--cache is as-is, cold or warm');
const rows = Number(args.rows);
const engines = args.engines!.split(',') as Array<'sqlite' | 'postgres'>;
const requests = Number(args.requests);
const maxSeconds = Number(args.seconds);
const connections = 50;
const pgUrl = process.env.OTPGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const bigDir = process.env.OTPGATE_BENCH_BIG_DIR ?? '/tmp/otpgate-big';
const adminKey = `adm_bench_${randomBytes(12).toString('hex')}`;
// One key for every run: a reused store keeps what earlier runs sealed (queued messages, the
// codes of open verifications), and a resend to one of its phones repeats that code.
const secretKey = createHash('sha256').update('otpgate bench: the big store').digest('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

// ---------------------------------------------------------------- stores

const built: Partial<Record<'sqlite' | 'postgres', BuiltStore>> = {};
for (const engine of engines) {
  log(`${engine}: big store of ${rows} rows per table…`);
  built[engine] = engine === 'sqlite' ? await buildSqlite(rows, { dir: bigDir, rebuild: args.rebuild! }) : await buildPostgres(rows, { serverUrl: pgUrl, rebuild: args.rebuild! });
  const b = built[engine]!;
  log(`${engine}: ${b.reused ? 'reused' : 'built'} in ${b.buildSeconds} s, ${(b.bytes / 2 ** 30).toFixed(2)} GiB`);
}
if (args['build-only']) process.exit(0);

const admin = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => withPgClient(pgUrl, fn);

/** A store with nothing in it, and how to be rid of it. */
async function emptyStore(engine: 'sqlite' | 'postgres'): Promise<{ url: string; drop(): Promise<void> }> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'otpgate-big-empty-'));
    return { url: `sqlite:${join(dir, 'otpgate.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `otpgate_bench_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const u = new URL(pgUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined) };
}

// ---------------------------------------------------------------- server

interface Node {
  child: ChildProcess;
  url: string;
  key: string;
  /** Runs housekeeping's purge of a day in the server; resolves with what it reports. */
  purge(): Promise<Record<string, number>>;
  /** What the purge has done so far. */
  progress(): Promise<{ rows: number; units: number; busyMs: number; done: boolean }>;
}

async function startNode(dbUrl: string, gatewayUri: string, gatewayKey: string, tenantId?: string): Promise<Node> {
  const dataDir = mkdtempSync(join(tmpdir(), 'otpgate-big-node-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTPGATE_')) env[k] = v;
  Object.assign(env, pgNodeEnv({ dbUrl, adminKey, secretKey, dataDir, gatewayUri, gatewayKey, logLevel: 'warn' }), tenantId ? { BENCH_TENANT_ID: tenantId } : {});
  const profile = process.env.OTPGATE_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.OTPGATE_BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/servers/otpgate-big.ts'], { stdio: ['pipe', 'pipe', 'inherit'], env });
  child.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  let buf = '';
  const errorsShown = new Set<string>();
  const waiters: Array<{ take(line: string): boolean; fail(err: Error): void }> = [];
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const i = waiters.findIndex((w) => w.take(line));
      if (i >= 0) waiters.splice(i, 1);
      else if (line.startsWith('{') && /"level":(50|60)/.test(line)) {
        // The server's errors (its log is JSON on stdout): the first of each kind, so a failing run says why.
        const kind = /"msg":"[^"]*"/.exec(line)?.[0] ?? '';
        if (!errorsShown.has(kind)) {
          errorsShown.add(kind);
          process.stderr.write(`server: ${line.slice(0, 3000)}\n`);
        }
      }
    }
  });
  // A server stopped before it answered (a purge still running when the load ends) answers
  // nothing more: its waiters fail, and their timers do not keep this process alive.
  child.once('exit', () => {
    for (const w of waiters.splice(0)) w.fail(new Error('the server exited'));
  });
  const next = (prefix: string, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no "${prefix}" from the server in ${timeoutMs} ms`)), timeoutMs);
      t.unref();
      waiters.push({
        take: (line) => {
          if (!line.startsWith(prefix)) return false;
          clearTimeout(t);
          resolve(line.slice(prefix.length));
          return true;
        },
        fail: (err) => {
          clearTimeout(t);
          reject(err);
        },
      });
    });
  const [url, key] = (await next('listening ', 300_000)).split(' ') as [string, string];
  return {
    child,
    url,
    key,
    purge: () => {
      const answer = next('purged ', 3_600_000);
      child.stdin!.write('purge\n');
      return answer.then((j) => JSON.parse(j) as Record<string, number>);
    },
    progress: () => {
      const answer = next('progress ', 60_000);
      child.stdin!.write('progress\n');
      return answer.then((j) => JSON.parse(j) as { rows: number; units: number; busyMs: number; done: boolean });
    },
  };
}

const stop = (child: ChildProcess): Promise<void> => stopChild(child, 30_000);

// ---------------------------------------------------------------- load

// ---------------------------------------------------------------- CPU and disk (Linux /proc)

/** CPU ms (user + system) and bytes read from disk so far by these processes. */
function usage(pids: number[]): { cpuMs: number; readBytes: number } {
  let cpuMs = 0;
  let readBytes = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuMs += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      readBytes += Number(/read_bytes: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone, or not Linux
    }
  }
  return { cpuMs, readBytes };
}

/** Every PostgreSQL server process on this machine (backends included). */
function postgresPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

/**
 * MiB written to the machine's disks so far (/proc/diskstats, whole disks only): a phase that
 * shares the disk with a checkpoint's or the kernel's writeback pays in its commits' fsyncs.
 */
function diskWrittenMib(): number {
  try {
    let sectors = 0;
    for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      // Whole disks (vda, sda, nvme0n1), not their partitions; field 10 is sectors written.
      if (f.length > 9 && /^(?:[shv]d[a-z]+|xvd[a-z]+|nvme\d+n\d+)$/.test(f[2]!)) sectors += Number(f[9]);
    }
    return (sectors * 512) / 2 ** 20;
  } catch {
    return 0;
  }
}

/**
 * PostgreSQL's write-ahead log so far (`pg_stat_wal`, the whole server): bytes, and full-page
 * images (a page's first change after a checkpoint is logged whole; on a large store most
 * leaves a send changes are such first changes).
 */
async function walSoFar(): Promise<{ bytes: number; fpi: number }> {
  try {
    return await admin(async (c) => {
      const r = (await c.query<{ wal_bytes: string; wal_fpi: string }>('select wal_bytes, wal_fpi from pg_stat_wal')).rows[0]!;
      return { bytes: Number(r.wal_bytes), fpi: Number(r.wal_fpi) };
    });
  } catch {
    return { bytes: 0, fpi: 0 };
  }
}

/** `fn`'s result with the CPU ms and disk KiB read per request by the server and by PostgreSQL. */
async function measured(serverPid: number, fn: () => Promise<Omit<LoadResult, 'cpu' | 'readKib' | 'writtenMib' | 'wal'>>): Promise<LoadResult> {
  const pgBefore = postgresPids();
  const s0 = usage([serverPid]);
  const p0 = usage(pgBefore);
  const w0 = diskWrittenMib();
  const l0 = await walSoFar();
  const r = await fn();
  const s1 = usage([serverPid]);
  const p1 = usage([...new Set([...pgBefore, ...postgresPids()])]);
  const l1 = await walSoFar();
  const per = (x: number) => Math.round((x * 100) / Math.max(1, r.total)) / 100;
  return {
    ...r,
    cpu: [per(s1.cpuMs - s0.cpuMs), per(p1.cpuMs - p0.cpuMs)],
    readKib: [per((s1.readBytes - s0.readBytes) / 1024), per((p1.readBytes - p0.readBytes) / 1024)],
    writtenMib: Math.round(diskWrittenMib() - w0),
    wal: [per((l1.bytes - l0.bytes) / 1024), per(l1.fpi - l0.fpi)],
  };
}

interface LoadResult {
  /** CPU ms per request: the otpgate process, PostgreSQL's processes. */
  cpu: [number, number];
  /** KiB read from disk per request (page cache misses): the otpgate process, PostgreSQL's. */
  readKib: [number, number];
  /** MiB the machine wrote to disk during the phase, by every process. */
  writtenMib: number;
  /** PostgreSQL's log per request during the phase: KiB, and full-page images. */
  wal: [number, number];
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  seconds: number;
}

// The same bodies for the empty and the big store of one run; other phones in the next run, so
// that a run soon after another does not resend to the codes it left open (a resend that joins
// a verification is another, dearer path).
const runSalt = randomInt(1_000_000) * 16;

/**
 * The send bodies of a phase: numbers of the big store's pool (so that on the big store each
 * already has codes and messages, as a returning user's has), the same list for every store.
 */
function sendBodies(phase: number, n: number): Array<Record<string, unknown>> {
  const pool = phonePool(rows);
  let seed = 1000 + phase + runSalt;
  // Math.imul keeps the product exact: in doubles it passed 2^53, and the sequence fell into a
  // cycle of ~17,000 numbers that every run shared, so a run resent to the codes the last left open.
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 2 ** 31;
  // 2,000 client IPs of this run's own: the hourly IP cap counts an IP's sends of the last hour,
  // and with one pool for every run each run on the reused big store counted the earlier runs'
  // sends too (up to 500 per IP after seven runs), which the new empty store never does.
  const block = (runSalt / 16) % 250;
  return Array.from({ length: n }, (_, k) => ({ phone_number: phoneOf(Math.floor(rand() * pool)), client_ip: `10.${block}.${Math.floor(k / 250) % 8}.${k % 250}` }));
}

/** Sends `bodies` once each with 50 connections, stopping early after `maxSeconds` or when `until` settles. */
async function load(node: Node, path: string, bodies: Array<Record<string, unknown>>, opts: { onOk?: (sent: Record<string, unknown>, answer: string) => void; until?: Promise<unknown> } = {}): Promise<LoadResult> {
  return measured(node.child.pid!, () => loadOnly(node, path, bodies, opts));
}

async function loadOnly(node: Node, path: string, bodies: Array<Record<string, unknown>>, opts: { onOk?: (sent: Record<string, unknown>, answer: string) => void; until?: Promise<unknown> }): Promise<Omit<LoadResult, 'cpu' | 'readKib' | 'writtenMib' | 'wal'>> {
  const started = Date.now();
  // The rate is over the time to the last answer: autocannon reports a run that ends on
  // `amount` only at its next 1 s sample tick, which rounded each phase up to whole seconds.
  let lastAnswerAt = started;
  let next = 0;
  const sentOn = new Map<object, Record<string, unknown>>();
  const refused = new Map<string, number>();
  let finished!: (r: autocannon.Result) => void;
  let failed!: (e: unknown) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => ((finished = resolve), (failed = reject)));
  const instance = autocannon(
    {
    url: `${node.url}${path}`,
    connections,
    amount: bodies.length,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${node.key}` },
    requests: [
      {
        setupRequest: (req, context) => {
          const body = bodies[next++ % bodies.length]!;
          sentOn.set(context, body);
          return { ...req, body: JSON.stringify(body) };
        },
        onResponse: (status, body, context) => {
          lastAnswerAt = Date.now();
          const sent = sentOn.get(context);
          if (status < 300 && sent) opts.onOk?.(sent, body);
          if (status >= 300) {
            let code = '';
            try {
              code = String((JSON.parse(body) as { code?: unknown }).code ?? '');
            } catch {
              // not JSON
            }
            refused.set(`${status} ${code}`, (refused.get(`${status} ${code}`) ?? 0) + 1);
          }
        },
      },
    ],
    },
    (err, result) => (err ? failed(err) : finished(result)),
  );
  const cap = setTimeout(() => instance.stop(), maxSeconds * 1000);
  void opts.until?.then(
    () => instance.stop(),
    () => undefined,
  );
  const r = await done;
  clearTimeout(cap);
  // A refused request is not the cost being measured: say what the server answered.
  if (refused.size > 0) log(`${path}: ${r.non2xx} answers not 2xx: ${[...refused].map(([k, n]) => `${n} × ${k}`).join(', ')}`);
  const seconds = (lastAnswerAt - started) / 1000;
  return { rps: Math.round(r.requests.total / seconds), p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, non2xx: r.non2xx, errors: r.errors, seconds };
}

// ---------------------------------------------------------------- runs

interface Row {
  engine: string;
  store: string;
  send: LoadResult;
  verify: LoadResult;
  /** The same send load again just before the purge, and while it runs (big store only). */
  beforePurge?: LoadResult;
  duringPurge?: LoadResult;
  /** How far the purge got while the load ran (it may go on after: a day of a large store takes long). */
  purge?: { rows: number; units: number; busyMs: number; done: boolean };
}

const gatewayKey = `gw_${randomBytes(12).toString('hex')}`;
const gateway = await startGateway(gatewayKey);

/**
 * Ends what an earlier run left open in a reused store, so that it is as built:
 * - the messages it left queued (it stops with the last load's backlog undelivered), which the
 *   next run's dispatcher would deliver during its measured load;
 * - the codes it sent, still open for their 5 minutes: a run soon after found a quarter of its
 *   numbers with one, and those sends joined it as `same_code` resends (a dearer path, and
 *   some of their codes expired before the verify phase), which the empty store never does.
 *   They end as housekeeping ends codes past their expiry. Only rows made after the build
 *   (ids start with their time), found on the primary key.
 */
async function settleBacklog(engine: 'sqlite' | 'postgres', url: string, builtAt: number): Promise<{ messages: number; codes: number }> {
  const messages = `update messages set status = 'failed', error_kind = 'bench', error_message = 'left queued when a bench run stopped',
    body_sealed = null, lease_owner = null, lease_until = null where status in ('queued', 'sending')`;
  const verifications = `update verifications set status = 'expired', code_sealed = null where id >= '${idFloor('ver', builtAt)}' and status = 'pending'`;
  const challenges = `update challenges set status = 'expired' where id >= '${idFloor('chl', builtAt)}' and status = 'pending'`;
  if (engine === 'postgres') {
    return withPgClient(url, async (c) => {
      const m = (await c.query(messages)).rowCount ?? 0;
      await c.query(verifications);
      return { messages: m, codes: (await c.query(challenges)).rowCount ?? 0 };
    });
  }
  return withSqlite(url, (db) => {
    const m = db.prepare(messages).run().changes;
    db.prepare(verifications).run();
    return { messages: m, codes: db.prepare(challenges).run().changes };
  });
}

/** Messages still queued or being sent. */
async function outboxLeft(engine: 'sqlite' | 'postgres', url: string): Promise<number> {
  // One status each, as the partial indexes of the queue have it, so neither engine reads the table.
  const query = `select (select count(*) from messages where status = 'queued') + (select count(*) from messages where status = 'sending') as n`;
  if (engine === 'postgres') return withPgClient(url, async (c) => Number((await c.query<{ n: string }>(query)).rows[0]!.n));
  return withSqlite(url, (db) => (db.prepare(query).get() as { n: number }).n, { readonly: true });
}

/** `fn` on a connection of its own to the store's SQLite file, closed after. */
function withSqlite<T>(url: string, fn: (db: InstanceType<typeof SqliteDatabase>) => T, options: { readonly?: boolean } = {}): T {
  const db = new SqliteDatabase(url.slice('sqlite:'.length), options);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * Puts the big store's files in the OS's page cache as `--cache` asks, before its phase. Between
 * runs a store is otherwise as cached as the last run and whatever ran since left it: the send
 * ratio of SQLite's 10 M-row store was 0.38–0.40 with the cache dropped and 0.68–0.96 with the
 * file read in (docs/performance.md, 2026-12-06). Cold leaves PostgreSQL's own buffers
 * (shared_buffers) as they are.
 */
async function prepareCache(engine: 'sqlite' | 'postgres', url: string): Promise<void> {
  if (cacheMode === 'as-is') return;
  if (cacheMode === 'cold') {
    spawnSync('sync');
    try {
      writeFileSync('/proc/sys/vm/drop_caches', '1');
    } catch (err) {
      throw new Error(`--cache cold drops the OS's page cache, which takes root: ${(err as Error).message}`);
    }
    log(`${engine} big: the OS's page cache dropped`);
    return;
  }
  const files =
    engine === 'sqlite'
      ? [url.slice('sqlite:'.length)]
      : await withPgClient(url, async (c) => {
          const dir = (await c.query<{ d: string }>("select current_setting('data_directory') as d")).rows[0]!.d;
          const oid = (await c.query<{ oid: number }>('select oid from pg_database where datname = current_database()')).rows[0]!.oid;
          return readdirSync(join(dir, 'base', String(oid))).map((f) => join(dir, 'base', String(oid), f));
        });
  const started = Date.now();
  const buf = Buffer.alloc(1 << 20);
  let bytes = 0;
  for (const file of files) {
    const fd = openSync(file, 'r');
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) bytes += n;
    } finally {
      closeSync(fd);
    }
  }
  log(`${engine} big: ${(bytes / 2 ** 30).toFixed(2)} GiB read into the OS's page cache in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function runStore(engine: 'sqlite' | 'postgres', store: 'empty' | 'big', url: string): Promise<Row> {
  if (store === 'big') {
    const settled = await settleBacklog(engine, url, built[engine]!.builtAt);
    if (settled.messages > 0) log(`${engine} ${store}: ended ${settled.messages} messages an earlier run left queued`);
    if (settled.codes > 0) log(`${engine} ${store}: ended ${settled.codes} codes an earlier run left open`);
    if (engine === 'postgres') {
      // Autovacuum may be off on the bench's server (it is on the machines these figures come
      // from): without a vacuum, an earlier run's dead rows stay in the indexes, and the outbox
      // claims of the next run walk them (docs/performance.md, 2026-12-05).
      const started = Date.now();
      await withPgClient(url, async (c) => {
        for (const table of ['messages', 'message_attempts', 'challenges', 'verifications']) await c.query(`vacuum (index_cleanup on) ${table}`);
      });
      log(`${engine} ${store}: vacuumed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      // The vacuum dirtied pages all over the store (and the kernel holds more of them): written
      // back during the measured phases, they made the commits' fsyncs wait behind that writing.
      const flushStarted = Date.now();
      await withPgClient(url, (c) => c.query('checkpoint'));
      log(`${engine} ${store}: checkpoint in ${((Date.now() - flushStarted) / 1000).toFixed(1)} s`);
    }
  }
  if (store === 'big') await prepareCache(engine, url);
  const node = await startNode(url, gateway.uri, gatewayKey, store === 'big' ? benchTenantId : undefined);
  try {
    log(`${engine} ${store}: warm-up`);
    await load(node, '/v1/otp/send', sendBodies(0, 5000));
    while (gateway.received < 1) await sleep(50);
    await sleep(1000);
    gateway.reset();
    log(`${engine} ${store}: send`);
    const challenges = new Map<string, string>();
    const send = await load(node, '/v1/otp/send', sendBodies(1, requests), {
      onOk: (_sent, answer) => {
        const a = JSON.parse(answer) as { challenge_id: string; phone_number: string };
        challenges.set(a.phone_number, a.challenge_id);
      },
    });
    // Each phone's newest code: a number sent to twice in the phase has its first code superseded.
    const deadline = Date.now() + 120_000;
    const phones = [...challenges.keys()];
    // Until every code arrived or nothing is left to deliver: a send that joined a verification
    // of the big store about to expire has a message that expires undelivered, and waiting for
    // its code kept the verify phase back until the deadline, while the other codes expired.
    while (!phones.every((phone) => gateway.codes.has(phone)) && Date.now() < deadline && (await outboxLeft(engine, url)) > 0) await sleep(100);
    await sleep(500);
    const pairs: Array<Record<string, unknown>> = [];
    for (const [phone, id] of challenges) {
      const code = gateway.codes.get(phone);
      if (code) pairs.push({ challenge_id: id, code });
    }
    log(`${engine} ${store}: verify ${pairs.length}${engine === 'sqlite' ? `; writes held for the checkpoint since the start: ${await holdsOf(node.url)}` : ''}`);
    const verify = await load(node, '/v1/otp/verify', pairs);
    const row: Row = { engine, store, send, verify };
    if (store === 'big') {
      log(`${engine} ${store}: send before the purge`);
      // As long as the load during the purge (both stop at maxSeconds): a longer load alone moves
      // the rate and p99 (the outbox fills, autovacuum wakes), and that is not the purge's doing.
      row.beforePurge = await load(node, '/v1/otp/send', sendBodies(2, requests * 10));
      log(`${engine} ${store}: send during the purge`);
      const purging = node.purge();
      // A day of a large store may outlast the load: the server is stopped with the purge unfinished.
      purging.catch(() => undefined);
      const purgeStarted = Date.now();
      row.duringPurge = await load(node, '/v1/otp/send', sendBodies(3, requests * 10), { until: purging });
      row.purge = { ...(await node.progress()), ms: Date.now() - purgeStarted } as Row['purge'];
      log(`${engine} ${store}: purge while the load ran ${JSON.stringify(row.purge)}`);
    }
    return row;
  } finally {
    await stop(node.child);
  }
}

const results: Row[] = [];
for (const engine of engines) {
  const empty = await emptyStore(engine);
  try {
    results.push(await runStore(engine, 'empty', empty.url));
  } finally {
    await empty.drop();
  }
  results.push(await runStore(engine, 'big', built[engine]!.url));
}
await gateway.close();

const cpu = cpus();
const out = process.stdout;
const pgVersion = engines.includes('postgres') ? await admin(async (c) => (await c.query<{ server_version: string }>('show server_version')).rows[0]!.server_version) : undefined;
const pgSettings: Record<string, string> = engines.includes('postgres')
  ? await admin(async (c) => Object.fromEntries((await c.query<{ name: string; setting: string; unit: string | null }>(`select name, setting, unit from pg_settings where name in ('full_page_writes', 'wal_compression', 'max_wal_size', 'checkpoint_timeout')`)).rows.map((r) => [r.name, `${r.setting}${r.unit ?? ''}`])))
  : {};
out.write(`\n${connections} connections; send: ${requests} requests (at most ${maxSeconds} s), verify: each phone's newest code once; big store: ${rows} challenges, verifications, messages and attempts; its OS page cache before its phase: ${cacheMode}\n`);
out.write(`Node ${process.version}${pgVersion ? `, PostgreSQL ${pgVersion}` : ''}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, everything on this one machine\n\n`);
for (const engine of engines) {
  const b = built[engine]!;
  out.write(`${engine} big store: ${b.reused ? 'reused, ' : ''}built in ${b.buildSeconds} s, ${(b.bytes / 2 ** 30).toFixed(2)} GiB\n`);
}
out.write('\n| engine | store | send req/s | send p99 ms | verify req/s | verify p99 ms | send ratio big/empty | send p99 ratio | verify ratio | verify p99 ratio | non-2xx | errors |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n');
for (const r of results) {
  const e = results.find((x) => x.engine === r.engine && x.store === 'empty')!;
  const big = r.store === 'big';
  const f = (a: number, b: number) => (big ? (a / b).toFixed(2) : '–');
  out.write(
    `| ${r.engine} | ${r.store} | ${r.send.rps} | ${r.send.p99} | ${r.verify.rps} | ${r.verify.p99} | ${f(r.send.rps, e.send.rps)} | ${f(r.send.p99, e.send.p99)} | ${f(r.verify.rps, e.verify.rps)} | ${f(r.verify.p99, e.verify.p99)} | ${r.send.non2xx + r.verify.non2xx} | ${r.send.errors + r.verify.errors} |\n`,
  );
}
out.write('\nCost per request: CPU ms and KiB read from disk, otpgate / PostgreSQL (PostgreSQL counts every process of the server, the machine is shared); MiB the machine wrote to disk during the phase:\n\n| engine | store | send CPU ms | send KiB read | send MiB written | verify CPU ms | verify KiB read | verify MiB written |\n|---|---|---|---|---|---|---|---|\n');
for (const r of results) out.write(`| ${r.engine} | ${r.store} | ${r.send.cpu.join(' / ')} | ${r.send.readKib.join(' / ')} | ${r.send.writtenMib} | ${r.verify.cpu.join(' / ')} | ${r.verify.readKib.join(' / ')} | ${r.verify.writtenMib} |\n`);
if (results.some((r) => r.engine === 'postgres')) {
  out.write(`\nPostgreSQL's write-ahead log per request (pg_stat_wal; full_page_writes ${pgSettings.full_page_writes}, wal_compression ${pgSettings.wal_compression}, max_wal_size ${pgSettings.max_wal_size}, checkpoint_timeout ${pgSettings.checkpoint_timeout}):\n\n| store | send KiB | send full-page images | verify KiB | verify full-page images |\n|---|---|---|---|---|\n`);
  for (const r of results.filter((x) => x.engine === 'postgres')) out.write(`| ${r.store} | ${r.send.wal[0]} | ${r.send.wal[1]} | ${r.verify.wal[0]} | ${r.verify.wal[1]} |\n`);
}
out.write('\n| engine | send before purge: req/s, p99 ms | send during purge: req/s, p99 ms (load s) | p99 ratio during/before | rows purged while the load ran | write units, ms inside them | purge finished |\n|---|---|---|---|---|---|---|\n');
for (const r of results.filter((x) => x.duringPurge)) {
  const b = r.beforePurge!;
  const d = r.duringPurge!;
  const p = r.purge!;
  out.write(`| ${r.engine} | ${b.rps}, ${b.p99} | ${d.rps}, ${d.p99} (${d.seconds.toFixed(1)} s) | ${(d.p99 / b.p99).toFixed(2)} | ${p.rows} | ${p.units}, ${p.busyMs} | ${p.done ? 'yes' : 'no'} |\n`);
}
out.write(`\n${JSON.stringify({ rows, built, results })}\n`);
