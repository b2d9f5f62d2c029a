// PostgreSQL throughput: send and verify on otpgate with one node and with two nodes sharing
// one database, against a same-run baseline (bench/pg-baseline.ts: Fastify + pg doing just the
// inserts of a send in one transaction, and the read + update of a verify).
//
// Usage: npx tsx bench/pg-send.ts [seconds=10] [fraud guard: off|enforce, default off] [resend] [history] [functions]
//   resend: after the send phase, one node resends to every phone it sent to (a `same_code`
//           resend, the tenant's default policy), measured as a phase of its own
//   history: the tenant starts with a day of the fraud guard's hourly counters for every key
//           the sends use (the country, each prefix, IP and IP–country pair), as a tenant
//           that has run a while has, instead of an empty store
//   functions: PostgreSQL's time in each of otpgate's functions (`track_functions = pl` on the
//           nodes' connections, read from `pg_stat_user_functions` once the nodes have stopped),
//           over the whole run of each otpgate server: warm-up, send, drain and verify
//   OTPGATE_BENCH_PG_URL  server to create the bench databases on (default postgres://postgres@127.0.0.1:5432/test)
//   OTPGATE_BENCH_PROFILE_DIR  write a CPU profile of each otpgate node there (node --cpu-prof)
//
// Every server runs in its own process(es) on this machine, against the same PostgreSQL;
// autocannon drives 50 connections (split evenly across the nodes). otpgate runs as in
// production: real `src/main.ts` processes, auth, validation, policy checks under the per-phone
// advisory lock, sealing, LISTEN/NOTIFY, and the dispatchers delivering every message to a
// local custom gateway (in this process) while the load runs. Each send goes to a new phone;
// the verify phase then verifies every code the gateway received, once.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, tmpdir, totalmem } from 'node:os';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { pgNodeEnv } from './servers/node-env.js';
import { benchFraudGuard, startGateway, stopChild, withPgClient, type Gateway } from './servers/bench-support.js';

const seconds = Number(process.argv[2] ?? 10);
// `enforce`: every rule of the fraud guard judged on each send, none trips (bench-support.ts).
const guard = process.argv[3] ?? 'off';
if (guard !== 'off' && guard !== 'enforce') throw new Error('the fraud guard is off or enforce');
const words = process.argv.slice(4);
if (words.some((w) => w !== 'resend' && w !== 'history' && w !== 'functions')) throw new Error('the arguments after the mode are `resend`, `history` and `functions`, or nothing');
const withResend = words.includes('resend');
const withHistory = words.includes('history');
const withFunctions = words.includes('functions');
const connections = 50;
const warmupSeconds = 2;
const pgUrl = process.env.OTPGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const adminKey = `adm_bench_${randomBytes(12).toString('hex')}`;
const secretKey = randomBytes(32).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- databases

const admin = <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => withPgClient(pgUrl, fn);

async function freshDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `otpgate_bench_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const u = new URL(pgUrl);
  u.pathname = `/${name}`;
  return { name, url: u.toString(), drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined) };
}

// ---------------------------------------------------------------- processes

function waitForLine(child: ChildProcess, match: (line: string) => string | undefined, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${err}`)), 60_000);
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      for (const line of buf.split('\n')) {
        const v = match(line);
        if (v) {
          clearTimeout(timer);
          child.stdout!.removeAllListeners('data');
          child.stdout!.resume();
          return resolve(v);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${err}`)));
  });
}

async function startBaseline(dbUrl: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/pg-baseline.ts', dbUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await waitForLine(child, (l) => /^listening (\S+)/.exec(l)?.[1], 'baseline');
  return { child, url };
}

async function startNode(dbUrl: string, gatewayUri: string, gatewayKey: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'otpgate-bench-node-'));
  const env: NodeJS.ProcessEnv = {};
  // The nodes' pool size may be set for a run (OTPGATE_PG_POOL_SIZE); no other OTPGATE_ setting leaks in.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTPGATE_') || k === 'OTPGATE_PG_POOL_SIZE') env[k] = v;
  Object.assign(env, pgNodeEnv({ dbUrl, adminKey, secretKey, dataDir, gatewayUri, gatewayKey, logLevel: 'info' }));
  const profile = process.env.OTPGATE_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.OTPGATE_BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/main.ts'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const url = await waitForLine(
    child,
    (l) => {
      try {
        const j = JSON.parse(l) as { msg?: string; url?: string };
        return j.msg === 'otpgate is listening' ? j.url : undefined;
      } catch {
        return undefined;
      }
    },
    'otpgate',
  );
  return { child, url };
}

const stop = (child: ChildProcess): Promise<void> => stopChild(child, 15_000);

async function json(url: string, method: string, auth: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(url, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = (await r.json()) as Record<string, unknown>;
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

// ---------------------------------------------------------------- CPU accounting (Linux /proc)

/** CPU seconds (user + system) used so far by each of these processes that is still there (Linux /proc). */
function cpuByPid(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // gone, or not Linux
    }
  }
  return out;
}

/**
 * CPU seconds these processes used between two readings: a process that started since counts
 * from zero, and one that exited meanwhile (a pooled connection closed) is left out, since its
 * last figure cannot be read.
 */
function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, sec] of after) sum += sec - (before.get(pid) ?? 0);
  return sum;
}

/**
 * The PostgreSQL processes that work for this run: the server's own (WAL writer, checkpointer
 * …) and the backends of `database`. Backends and autovacuum workers of other databases (other
 * work on a shared server) are left out; their titles name their database.
 */
function postgresPids(database: string): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((pid) => {
        try {
          if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') return false;
          const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
          const ofADatabase = /\(\d+\)|\[local\]|autovacuum worker/.test(title);
          return !ofADatabase || title.includes(` ${database} `);
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

/** CPU ms per request spent in the servers under test and in PostgreSQL over `fn`. */
async function measureCpu<T extends { total: number }>(serverPids: number[], database: string, fn: () => Promise<T>): Promise<T & { cpuServerMs: number; cpuPostgresMs: number }> {
  const s0 = cpuByPid(serverPids);
  const p0 = cpuByPid(postgresPids(database));
  const r = await fn();
  const s1 = cpuByPid(serverPids);
  const p1 = cpuByPid(postgresPids(database));
  const per = (sec: number) => Math.round((sec * 1000 * 100) / Math.max(1, r.total)) / 100;
  return { ...r, cpuServerMs: per(cpuBetween(s0, s1)), cpuPostgresMs: per(cpuBetween(p0, p1)) };
}

// ---------------------------------------------------------------- load

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
}

let phoneSeq = 0;
/**
 * A new number for each send, spread over San Francisco's 800 exchanges as a large tenant's
 * users are (so the fraud guard's prefixes each see a few sends), with an end-user IP from a
 * pool of 2,000 (as bench/send.ts's bodies).
 */
function nextBody(): { phone_number: string; client_ip: string } {
  const k = phoneSeq++;
  // 555 is not an exchange: 799 of the 800 NXX from 200.
  const nxx = 200 + (k % 799);
  const line = String(Math.floor(k / 799)).padStart(4, '0');
  return { phone_number: `+1415${nxx >= 555 ? nxx + 1 : nxx}${line}`, client_ip: clientIpOf(k) };
}

/** The pool of 2,000 end-user IPs `nextBody` draws from, by index. */
const clientIpOf = (k: number) => `198.51.${Math.floor(k / 250) % 8}.${k % 250}`;

/**
 * Drives `targets` at once, `connections` split evenly, for `duration` s or until `bodies` run
 * out; `onOk` sees each 2xx answer with the body that was sent.
 */
async function load(
  targets: Array<{ url: string; auth: string }>,
  path: string,
  opts: { duration?: number; bodies?: Array<Record<string, unknown>>; body?: () => Record<string, unknown>; onOk?: (sent: Record<string, unknown>, answer: string) => void },
): Promise<LoadResult> {
  const started = Date.now();
  // The rate is over the time to the last answer: autocannon reports a run that ends on
  // `amount` only at its next 1 s sample tick, which added up to a second to the verify phase.
  let lastAnswerAt = started;
  const slices = targets.map((_, t) => opts.bodies?.filter((_, i) => i % targets.length === t));
  const results = await Promise.all(
    targets.map((target, t) => {
      const mine = slices[t];
      let next = 0;
      const sentOn = new Map<object, Record<string, unknown>>();
      return autocannon({
        url: `${target.url}${path}`,
        connections: Math.floor(connections / targets.length),
        ...(mine ? { amount: mine.length } : { duration: opts.duration ?? seconds }),
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: target.auth },
        requests: [
          {
            setupRequest: (req, context) => {
              const body = mine ? mine[next++ % mine.length]! : opts.body!();
              sentOn.set(context, body);
              return { ...req, body: JSON.stringify(body) };
            },
            onResponse: (status, body, context) => {
              lastAnswerAt = Date.now();
              const sent = sentOn.get(context);
              if (status < 300 && sent) opts.onOk?.(sent, body);
            },
          },
        ],
      });
    }),
  );
  const elapsed = (lastAnswerAt - started) / 1000;
  const total = results.reduce((n, r) => n + r.requests.total, 0);
  return {
    rps: Math.round(total / elapsed),
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    total,
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

// ---------------------------------------------------------------- runs

type Measured = LoadResult & { cpuServerMs: number; cpuPostgresMs: number };

interface Row {
  name: string;
  send: Measured;
  verify: Measured;
  /** Every phone of the send phase sent to again (one node, `resend`). */
  resend?: Measured;
  /** Messages delivered per second over the send phase and the drain after it. */
  deliveredPerSec?: number;
  /** How long the outbox took to empty after the send load stopped, s. */
  drainSeconds?: number;
  /** With `functions`: PostgreSQL's time in each function over the whole run, and the codes it stored. */
  functions?: { codes: number; rows: FunctionTime[] };
}

interface FunctionTime {
  name: string;
  calls: number;
  /** ms, the function and what it called. */
  total: number;
  /** ms, the function's own statements. */
  self: number;
}

/**
 * `pg_stat_user_functions` of the database once every connection to it has closed: a backend
 * sends its function counts to the statistics when its session ends (or about every second
 * while busy), so the figures are complete only then.
 */
async function functionTimes(dbUrl: string, dbName: string): Promise<{ codes: number; rows: FunctionTime[] }> {
  const deadline = Date.now() + 10_000;
  let open = -1;
  while (Date.now() < deadline) {
    // count(*) is a bigint, which this process's pg parses as a number (src/store/db.ts).
    open = Number(await admin(async (c) => (await c.query<{ n: string | number }>('select count(*) as n from pg_stat_activity where datname = $1', [dbName])).rows[0]!.n));
    if (open === 0) break;
    await sleep(50);
  }
  if (open !== 0) process.stderr.write(`functions: ${open} connections to ${dbName} still open after 10 s; their last second of counts may be missing\n`);
  return withPgClient(dbUrl, async (c) => {
    const codes = Number((await c.query<{ n: string | number }>('select count(*) as n from challenges')).rows[0]!.n);
    const r = await c.query<{ funcname: string; calls: string | number; total_time: number; self_time: number }>(
      'select funcname, calls, total_time, self_time from pg_stat_user_functions order by self_time desc',
    );
    return { codes, rows: r.rows.map((x) => ({ name: x.funcname, calls: Number(x.calls), total: x.total_time, self: x.self_time })) };
  });
}

/**
 * Statistics for the planner once the warm-up has filled the tables: a fresh database is
 * measured in its steady state, not before autovacuum's first ANALYZE (up to a minute in), when
 * the planner still takes the tables for empty.
 */
async function analyze(url: string): Promise<void> {
  await withPgClient(url, (c) => c.query('analyze'));
}

async function runBaseline(): Promise<Row> {
  const db = await freshDatabase();
  const base = await startBaseline(db.url);
  try {
    const target = [{ url: base.url, auth: 'none' }];
    await load(target, '/v1/otp/send', { duration: warmupSeconds, body: nextBody });
    await analyze(db.url);
    const pairs: Array<Record<string, unknown>> = [];
    const pids = [base.child.pid!];
    const send = await measureCpu(pids, db.name, () =>
      load(target, '/v1/otp/send', {
        body: nextBody,
        onOk: (_sent, answer) => {
          const a = JSON.parse(answer) as { challenge_id: string; code: string };
          pairs.push({ challenge_id: a.challenge_id, code: a.code });
        },
      }),
    );
    const verify = await measureCpu(pids, db.name, () => load(target, '/v1/otp/verify', { bodies: pairs }));
    return { name: 'baseline: Fastify + pg, the 2 inserts in 1 transaction / read + update', send, verify };
  } finally {
    await stop(base.child);
    await db.drop();
  }
}

/**
 * The 24 hours before the current one of the fraud guard's counters for every key `nextBody`'s
 * sends count under (prefix_digits 4: the prefix is `+1415` and the exchange), each hour with
 * 10 codes sent and 9 verified.
 */
async function seedCounterHistory(url: string, tenantId: string): Promise<void> {
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const ips = Array.from({ length: 2000 }, (_, k) => clientIpOf(k));
  const keys = ['c:US', ...Array.from({ length: 800 }, (_, i) => `p:+1415${200 + i}`), ...ips.map((ip) => `i:${ip}`), ...ips.map((ip) => `x:${ip}|US`)];
  await withPgClient(url, async (c) => {
    await c.query(
      `insert into fraud_counters (tenant_id, key, bucket, sent, verified, segments, cost_micros)
       select $1, k, $3::bigint - h * 3600000, 10, 9, 10, 0 from unnest($2::text[]) k, generate_series(1, 24) h`,
      [tenantId, keys, hour],
    );
    await c.query('analyze fraud_counters');
  });
}

async function runOtpgate(nodes: number, gateway: Gateway, gatewayKey: string): Promise<Row> {
  const db = await freshDatabase();
  const procs: ChildProcess[] = [];
  let row: Row | undefined;
  // Only the nodes' own connections count their functions' time (a superuser setting; the bench connects as one).
  const nodeDbUrl = new URL(db.url);
  if (withFunctions) nodeDbUrl.searchParams.set('options', '-c track_functions=pl');
  try {
    const started = [];
    for (let i = 0; i < nodes; i++) {
      const n = await startNode(nodeDbUrl.toString(), gateway.uri, gatewayKey);
      procs.push(n.child);
      started.push(n);
    }
    const first = started[0]!.url;
    const adminAuth = `Bearer ${adminKey}`;
    const tenant = await json(`${first}/v1/tenants`, 'POST', adminAuth, { name: 'Bench', settings: { max_sends_per_phone_per_hour: 100_000, max_sends_per_ip_per_hour: 100_000, resend_cooldown_seconds: 0, fraud_guard: benchFraudGuard(guard) } });
    const key = await json(`${first}/v1/tenants/${tenant['id'] as string}/api-keys`, 'POST', adminAuth, { name: 'bench' });
    if (withHistory) await seedCounterHistory(db.url, tenant['id'] as string);
    const targets = started.map((n) => ({ url: n.url, auth: `Bearer ${key['key'] as string}` }));

    await load(targets, '/v1/otp/send', { duration: warmupSeconds, body: nextBody });
    while (gateway.received < 1) await sleep(50);
    await sleep(1000);
    await analyze(db.url);
    gateway.reset();
    const challenges = new Map<string, string>();
    const sentBodies: Array<Record<string, unknown>> = [];
    const sendStarted = Date.now();
    let sendEnded = 0;
    const pids = procs.map((p) => p.pid!);
    // The send phase's CPU includes the dispatch of what was sent (the drain after the load).
    const send = await measureCpu(pids, db.name, async () => {
      const r = await load(targets, '/v1/otp/send', {
        body: nextBody,
        onOk: (sent, answer) => {
          const a = JSON.parse(answer) as { challenge_id: string; phone_number: string };
          challenges.set(a.phone_number, a.challenge_id);
          sentBodies.push(sent);
        },
      });
      sendEnded = Date.now();
      const deadline = Date.now() + 120_000;
      while (gateway.received < challenges.size && Date.now() < deadline) await sleep(20);
      return r;
    });
    const drained = gateway.lastAt;
    let resend: Measured | undefined;
    if (withResend && nodes === 1) {
      // The same code again: the first challenge ids still verify below.
      const before = gateway.received;
      resend = await measureCpu(pids, db.name, async () => {
        const r = await load(targets, '/v1/otp/send', { bodies: sentBodies });
        const deadline = Date.now() + 120_000;
        while (gateway.received < before + r.total - r.non2xx && Date.now() < deadline) await sleep(20);
        return r;
      });
    }
    const pairs: Array<Record<string, unknown>> = [];
    for (const [phone, id] of challenges) {
      const code = gateway.codes.get(phone);
      if (code) pairs.push({ challenge_id: id, code });
    }
    const verify = await measureCpu(pids, db.name, () => load(targets, '/v1/otp/verify', { bodies: pairs }));
    row = {
      name: `otpgate, ${nodes} node${nodes === 1 ? '' : 's'}`,
      send,
      verify,
      ...(resend ? { resend } : {}),
      deliveredPerSec: Math.round(gateway.received / ((drained - sendStarted) / 1000)),
      drainSeconds: Math.max(0, (drained - sendEnded) / 1000),
    };
    return row;
  } finally {
    for (const p of procs) await stop(p);
    if (withFunctions && row) row.functions = await functionTimes(db.url, db.name);
    await db.drop();
  }
}

const gatewayKey = `gw_${randomBytes(12).toString('hex')}`;
const gateway = await startGateway(gatewayKey);
const pgVersion = await admin(async (c) => (await c.query<{ server_version: string }>('show server_version')).rows[0]!.server_version);
const rows: Row[] = [];
rows.push(await runBaseline());
rows.push(await runOtpgate(1, gateway, gatewayKey));
rows.push(await runOtpgate(2, gateway, gatewayKey));
await gateway.close();

const cpu = cpus();
const base = rows[0]!;
const out = process.stdout;
out.write(`\n${connections} connections, ${seconds} s send phase per server (after ${warmupSeconds} s warm-up), verify until every code is used; otpgate's fraud guard ${guard}${withHistory ? ', a day of its counters stored before the load' : ''}\n`);
out.write(`Node ${process.version}, PostgreSQL ${pgVersion}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, everything on this one machine\n\n`);
out.write('| server | send req/s | p50 ms | p99 ms | ratio | verify req/s | p50 ms | p99 ms | ratio | delivered/s | drain s | non-2xx | errors |\n');
out.write('|---|---|---|---|---|---|---|---|---|---|---|---|---|\n');
for (const r of rows) {
  out.write(
    `| ${r.name} | ${r.send.rps} | ${r.send.p50} | ${r.send.p99} | ${(r.send.rps / base.send.rps).toFixed(2)} | ${r.verify.rps} | ${r.verify.p50} | ${r.verify.p99} | ${(r.verify.rps / base.verify.rps).toFixed(2)} | ${r.deliveredPerSec ?? '–'} | ${r.drainSeconds?.toFixed(1) ?? '–'} | ${r.send.non2xx + r.verify.non2xx} | ${r.send.errors + r.verify.errors} |\n`,
  );
}
const resent = rows.filter((r) => r.resend);
if (resent.length > 0) {
  out.write('\nResend to every phone of the send phase (`same_code`, one node; ratio to the baseline\'s send), CPU includes the delivery:\n\n| server | resend req/s | p50 ms | p99 ms | ratio | CPU ms server | CPU ms PostgreSQL | non-2xx |\n|---|---|---|---|---|---|---|---|\n');
  for (const r of resent) {
    const m = r.resend!;
    out.write(`| ${r.name} | ${m.rps} | ${m.p50} | ${m.p99} | ${(m.rps / base.send.rps).toFixed(2)} | ${m.cpuServerMs} | ${m.cpuPostgresMs} | ${m.non2xx} |\n`);
  }
}
for (const r of rows.filter((x) => x.functions)) {
  const f = r.functions!;
  const all = f.rows.reduce((a, x) => a + x.self, 0);
  out.write(`\nPostgreSQL's time in otpgate's functions, ${r.name}, the whole run (warm-up, send, drain, verify; ${f.codes} codes stored), wall time inside the function, so waits for a lock or a CPU included:\n\n`);
  out.write('| function | calls | self ms | self µs per call | self µs per code stored | share of self | total ms |\n|---|---|---|---|---|---|---|\n');
  for (const x of f.rows) {
    out.write(`| ${x.name} | ${x.calls} | ${Math.round(x.self)} | ${x.calls ? Math.round((x.self * 1000) / x.calls) : '–'} | ${f.codes ? Math.round((x.self * 1000) / f.codes) : '–'} | ${all ? ((100 * x.self) / all).toFixed(1) : '–'} % | ${Math.round(x.total)} |\n`);
  }
}
out.write('\nCPU per request (ms), server process(es) / PostgreSQL; otpgate\'s send includes dispatching the message:\n\n| server | send: server | send: PostgreSQL | verify: server | verify: PostgreSQL |\n|---|---|---|---|---|\n');
for (const r of rows) out.write(`| ${r.name} | ${r.send.cpuServerMs} | ${r.send.cpuPostgresMs} | ${r.verify.cpuServerMs} | ${r.verify.cpuPostgresMs} |\n`);
out.write(`\n${JSON.stringify(rows)}\n`);
