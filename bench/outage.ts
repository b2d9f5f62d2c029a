// What sends get while a store is away: PostgreSQL stopped (pg_ctl stop) for 6 s, PostgreSQL
// paused (SIGSTOP) for 6 s, and Redis paused (SIGSTOP) for 6 s, each under a steady load of
// sends at 10 connections, with the answers counted by status per phase (before, during, after).
//
// Usage: npx tsx bench/outage.ts [scenario…]   scenarios: pg-stop pg-pause redis-pause pg-pause-arrivals
//   (default the first three). pg-pause-arrivals: PostgreSQL paused as in pg-pause, but the sends
//   arrive at a fixed rate (ARRIVALS_PER_S) whatever the answers, as users' requests do, and each
//   is counted in the phase it began in: how long a request that arrives during the pause waits
//   BENCH_SRC  source tree whose bench/servers/otpgate.ts is run (default: this one), to
//                      measure an older commit from a `git worktree` with the same script
//
// Each scenario starts its own PostgreSQL (initdb into a temp folder, a free port) and, for
// Redis, its own redis-server: the shared servers are never touched. otpgate runs as `npm start`
// does (real HTTP, the dispatcher delivering to the Inbox provider). Bounded: 3 s of warm-up,
// then 3 s + 6 s + 4 s of load per scenario, at most 10 requests in flight.
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { queryPrivate, startPrivatePostgres, startPrivateRedis } from '../test/helpers/private-servers.js';
import { startOtpgate } from './servers/bench-support.js';

const CONNECTIONS = 10;
/** Load before the measured phases (JIT, pools, the first pages of the tables), not counted. */
const WARMUP_S = 3;
const BEFORE_S = 3;
const OUTAGE_S = 6;
const AFTER_S = 4;
const src = resolve(process.env.BENCH_SRC ?? '.');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stopOtpgate(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000).then(() => child.kill('SIGKILL'))]);
}

interface Answer {
  /** The phase the answer came in (a request sent before an outage and answered during it is counted during it). */
  phase: 'warmup' | 'before' | 'during' | 'after';
  status: number;
  ms: number;
  messageId?: string;
}

/** One send: its status (-1: no answer at all, a connection error or 30 s without one), how long it took, and the message's id when accepted. */
async function sendOnce(url: string, key: string, body: Record<string, string>): Promise<Omit<Answer, 'phase'>> {
  const started = performance.now();
  try {
    const res = await fetch(`${url}/v1/otp/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const answer = (await res.json()) as { message_id?: string };
    const messageId = res.status === 202 ? answer.message_id : undefined;
    return { status: res.status, ms: performance.now() - started, ...(messageId ? { messageId } : {}) };
  } catch {
    return { status: -1, ms: performance.now() - started };
  }
}

/** Sends from CONNECTIONS loops, new numbers throughout, until `stop` is set; `phase()` tags each by when it began. */
function load(url: string, key: string, phase: () => Answer['phase']) {
  const answers: Answer[] = [];
  let stop = false;
  let seq = 0;
  const loop = async (worker: number) => {
    while (!stop) {
      const n = seq++;
      const answer = await sendOnce(url, key, { phone_number: `+1415${200 + worker}${String(n % 10_000).padStart(4, '0')}`, purpose: `b${Math.floor(n / 10_000)}` });
      answers.push({ phase: phase(), ...answer });
    }
  };
  const loops = Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => loop(i)));
  return {
    answers,
    async end() {
      stop = true;
      await loops;
    },
  };
}

const ARRIVALS_PER_S = 100;

/** Sends at ARRIVALS_PER_S whatever the answers (each new number), until `end`; `phase()` tags each by when it began. */
function arrivals(url: string, key: string, phase: () => Answer['phase']) {
  const answers: Answer[] = [];
  const pending = new Set<Promise<void>>();
  let n = 0;
  const send = async (began: Answer['phase']) => {
    const k = n++;
    const answer = await sendOnce(url, key, { phone_number: `+1415${200 + (k % 300)}${String(Math.floor(k / 300) % 10_000).padStart(4, '0')}` });
    answers.push({ phase: began, ...answer });
  };
  const timer = setInterval(() => {
    const p = send(phase());
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }, 1000 / ARRIVALS_PER_S);
  return {
    answers,
    async end() {
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}

/** The waits of the requests that began during the outage, by status: how many, median and longest, ms. */
function waits(name: string, answers: Answer[]): string[] {
  const during = answers.filter((a) => a.phase === 'during');
  const byStatus = new Map<number, number[]>();
  for (const a of during) {
    const ms = byStatus.get(a.status) ?? [];
    ms.push(a.ms);
    byStatus.set(a.status, ms);
  }
  return [...byStatus.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([status, ms]) => {
      ms.sort((a, b) => a - b);
      return `| ${name} | began during the pause, answered ${status === -1 ? 'nothing' : status} | ${ms.length} | median ${ms[Math.floor(ms.length / 2)]!.toFixed(0)} ms, longest ${ms[ms.length - 1]!.toFixed(0)} ms | | |`;
    });
}

function summary(name: string, answers: Answer[], lost: number | undefined): string[] {
  const lines: string[] = [];
  for (const phase of ['before', 'during', 'after'] as const) {
    const of = answers.filter((a) => a.phase === phase);
    const seconds = phase === 'before' ? BEFORE_S : phase === 'during' ? OUTAGE_S : AFTER_S;
    const byStatus = new Map<number, number>();
    for (const a of of) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    const codes = [...byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s === -1 ? 'none' : s}: ${n}`).join(', ');
    const accepted = byStatus.get(202) ?? 0;
    const ms = of.map((a) => a.ms).sort((a, b) => a - b);
    const p99 = ms.length ? ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]!.toFixed(0) : '-';
    lines.push(`| ${name} | ${phase} (${seconds} s) | ${of.length} | ${(accepted / seconds).toFixed(0)} | ${codes} | ${p99} |`);
  }
  if (lost !== undefined) lines.push(`| ${name} | accepted sends missing from the database afterwards | ${lost} | | | |`);
  return lines;
}

async function scenario(name: 'pg-stop' | 'pg-pause' | 'redis-pause' | 'pg-pause-arrivals'): Promise<string[]> {
  const pgServer = await startPrivatePostgres();
  const redis = name === 'redis-pause' ? await startPrivateRedis() : undefined;
  const otpgate = await startOtpgate(
    {
      OTPGATE_DATABASE_URL: pgServer.url,
      ...(redis ? { OTPGATE_REDIS_URL: redis.url } : {}),
    },
    src,
  );
  let phase: Answer['phase'] = 'warmup';
  const run = name === 'pg-pause-arrivals' ? arrivals(otpgate.url, otpgate.key, () => phase) : load(otpgate.url, otpgate.key, () => phase);
  try {
    await sleep(WARMUP_S * 1000);
    phase = 'before';
    await sleep(BEFORE_S * 1000);
    phase = 'during';
    if (name === 'pg-stop') await pgServer.stop();
    else if (name === 'pg-pause' || name === 'pg-pause-arrivals') pgServer.signal('SIGSTOP');
    else redis!.signal('SIGSTOP');
    await sleep(OUTAGE_S * 1000);
    if (name === 'pg-stop') await pgServer.start();
    else if (name === 'pg-pause' || name === 'pg-pause-arrivals') pgServer.signal('SIGCONT');
    else redis!.signal('SIGCONT');
    phase = 'after';
    await sleep(AFTER_S * 1000);
  } finally {
    await run.end();
  }
  await stopOtpgate(otpgate.child);
  const accepted = run.answers.filter((a) => a.messageId).map((a) => a.messageId!);
  const found = await queryPrivate<{ n: string }>(pgServer.url, 'select count(*) as n from messages where id = any($1)', [accepted]);
  await redis?.destroy();
  await pgServer.destroy();
  const lines = summary(name, run.answers, accepted.length - Number(found[0]!.n));
  return name === 'pg-pause-arrivals' ? [...lines, ...waits(name, run.answers)] : lines;
}

const wanted = process.argv.slice(2);
const all = ['pg-stop', 'pg-pause', 'redis-pause', 'pg-pause-arrivals'] as const;
const chosen = wanted.length ? all.filter((s) => wanted.includes(s)) : all.slice(0, 3);
const rows: string[] = [];
for (const s of chosen) {
  process.stderr.write(`# ${s}…\n`);
  rows.push(...(await scenario(s)));
}
console.log(`source: ${src}, ${CONNECTIONS} connections (pg-pause-arrivals: ${ARRIVALS_PER_S} sends/s), outage ${OUTAGE_S} s`);
console.log('| scenario | phase (length) | answers | accepted / s | answers by status | p99 ms |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
