// Send throughput and latency: otpgate vs the same-run baseline, autocannon with 50 connections.
// Usage: npm run bench [-- seconds [rounds [new]]]   (default 10 s per server, 3 rounds). Prints a Markdown table.
//   new: every request of a server (warm-up and measured pass) goes to a number it has not
//        sent to; without it, the servers cycle through 16,000 bodies (below)
//   OTPGATE_BENCH_PROFILE_DIR  write a CPU profile of each server there (node --cpu-prof)
//   BENCH_RATE  offer this many requests a second in all instead of as many as are answered:
//               below every server's limit, the CPU per request compares two sources with
//               less of the noise a saturated machine adds
// Besides each server's CPU per request (and its main thread's), the table gives the load
// generator's (this process's) and how busy the whole machine was during the measured pass:
// a machine short of 100 % busy is bound by one thread, not by its cores.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { holdsOf } from './servers/bench-support.js';

const seconds = Number(process.argv[2] ?? 10);
const connections = 50;
const rate = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;

function startChild(script: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; key?: string; output(): string }> {
  return new Promise((resolve, reject) => {
    const profile = process.env.OTPGATE_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.OTPGATE_BENCH_PROFILE_DIR}`] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /listening (\S+)(?: (\S+))?/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, ...(m[2] ? { key: m[2] } : {}), output: () => buf });
      }
    });
  });
}

/**
 * The bodies every server gets, in the same order: numbers spread over San Francisco's
 * exchanges (+1 415 NXX XXXX, valid for libphonenumber), as a large tenant's users are, and an
 * end-user IP from a pool of 2,000 (the guard's per-IP rules run on each send).
 */
function bodies(n: number): string[] {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const exchange = 200 + Math.floor(rand() * 800);
    const line = String(Math.floor(rand() * 10_000)).padStart(4, '0');
    const ip = `198.51.${Math.floor(k / 250) % 8}.${k % 250}`;
    out.push(JSON.stringify({ phone_number: `+1415${exchange === 555 ? 556 : exchange}${line}`, client_ip: ip }));
  }
  return out;
}
const pool = bodies(2000 * 8);
const newPhones = process.argv[4] === 'new';
if (process.argv[4] !== undefined && !newPhones) throw new Error('the third argument is `new` or nothing');

/**
 * With `new`: the k-th request to a server goes to the k-th number of San Francisco's 799
 * exchanges in turn (line k ÷ 799), from the same pool of 2,000 IPs. Every server gets the same
 * sequence, from its first request.
 */
let sent = 0;
function newBody(): string {
  const k = sent++;
  const nxx = 200 + (k % 799);
  const line = String(Math.floor(k / 799) % 10_000).padStart(4, '0');
  return JSON.stringify({ phone_number: `+1415${nxx >= 555 ? nxx + 1 : nxx}${line}`, client_ip: `198.51.${Math.floor(k / 250) % 8}.${k % 250}` });
}

/**
 * CPU time the process has used (user + system, every thread: the dispatcher's worker too), ms.
 * Per request it is a measure of cost that other load on the machine disturbs far less than
 * throughput does.
 */
function cpuMsOf(pid: number, thread?: 'main'): number {
  // The main thread's own figures are its task's: the thread whose id is the process's.
  const fields = readFileSync(thread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * The machine's CPU time since boot, busy and in all, in clock ticks: over a pass, busy ÷ all is
 * how much of the machine's cores were at work (server, load generator and anything else).
 */
function machineTicks(): { busy: number; all: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are the time not at work.
  const all = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: all - fields[3]! - fields[4]!, all };
}

async function load(url: string, key?: string) {
  let i = 0;
  const result = await autocannon({
    url: `${url}/v1/otp/send`,
    connections,
    ...(rate ? { overallRate: rate } : {}),
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    requests: [
      {
        setupRequest: (req) => {
          i += 1;
          return { ...req, body: newPhones ? newBody() : pool[i % pool.length]! };
        },
      },
    ],
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

// Alternate the two servers over several rounds so that noise on the machine hits both; the
// ratio is taken per round (same conditions) and the median round is reported.
const rounds = Number(process.argv[3] ?? 3);
const servers = [
  ['baseline (Fastify + better-sqlite3, 2 inserts)', 'bench/servers/baseline.ts', {}],
  ['otpgate POST /v1/otp/send (SQLite, Inbox, dispatcher on), fraud guard off', 'bench/servers/otpgate.ts', { BENCH_FRAUD_GUARD: 'off' }],
  ['otpgate, fraud guard enforce (every rule judged, none trips)', 'bench/servers/otpgate.ts', { BENCH_FRAUD_GUARD: 'enforce' }],
] as const;
type Measured = Awaited<ReturnType<typeof load>> & { cpuUs: number; mainUs: number; loaderUs: number; busy: number };
const perRound: Measured[][] = [];
/** otpgate's outbox by status when the load stopped (warm-up and measured pass together). */
const outboxAtEnd: string[] = [];
/** otpgate's checkpoint holds per round and server. */
const holdsAtEnd: string[][] = [];
for (let round = 0; round < rounds; round++) {
  const results: Measured[] = [];
  // The guard's two servers swap places every other round, so that whatever the machine does
  // at a fixed point of a round does not always fall on the same one.
  const order = round % 2 === 0 ? [0, 1, 2] : [0, 2, 1];
  for (const index of order) {
    const [, script, env] = servers[index]!;
    const s = await startChild(script, env);
    sent = 0;
    await load(s.url, s.key).catch(() => undefined); // warm-up pass, discarded
    const cpu0 = cpuMsOf(s.child.pid!);
    const main0 = cpuMsOf(s.child.pid!, 'main');
    const loader0 = process.cpuUsage();
    const machine0 = machineTicks();
    const r = await load(s.url, s.key);
    const perRequest = (ms: number) => Math.round((ms * 1000) / Math.max(1, r.total));
    const loader = process.cpuUsage(loader0);
    const machine1 = machineTicks();
    results[index] = {
      ...r,
      cpuUs: perRequest(cpuMsOf(s.child.pid!) - cpu0),
      mainUs: perRequest(cpuMsOf(s.child.pid!, 'main') - main0),
      loaderUs: perRequest((loader.user + loader.system) / 1000),
      busy: (machine1.busy - machine0.busy) / Math.max(1, machine1.all - machine0.all),
    };
    if (index > 0) (holdsAtEnd[round] ??= [])[index] = await holdsOf(s.url).catch((err: Error) => `metrics not read: ${err.message}`);
    s.child.kill('SIGTERM');
    await new Promise((r) => s.child.once('exit', r));
    const outbox = /outbox (.*)/.exec(s.output())?.[1];
    if (outbox) outboxAtEnd[round] = outbox;
  }
  perRound.push(results);
}
const ratios = perRound.map((r) => r[1]!.rps / r[0]!.rps);
const order = ratios.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
const median = order[Math.floor(order.length / 2)]![1];
const guardRatios = perRound.map((r) => r[2]!.rps / r[1]!.rps).sort((a, b) => a - b);
process.stdout.write(`\n${connections} connections${rate ? `, ${rate} requests a second offered` : ''}, ${seconds} s per server and round, ${rounds} rounds, ${newPhones ? 'a new number for every request' : '16,000 bodies in a cycle'}, Node ${process.version}\n\n| round | server | req/s | p50 ms | p99 ms | non-2xx | errors | ratio | CPU µs/req | of it, main thread | load generator's CPU µs/req | machine busy |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n`);
perRound.forEach((results, round) => {
  results.forEach((r, i) => {
    process.stdout.write(`| ${round + 1}${round === median ? ' (median)' : ''} | ${servers[i]![0]} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${(r.rps / results[0]!.rps).toFixed(2)} | ${r.cpuUs} | ${r.mainUs} | ${r.loaderUs} | ${Math.round(r.busy * 100)} % |\n`);
  });
});
process.stdout.write(`\nfraud guard enforce ÷ off, per round: ${guardRatios.map((x) => x.toFixed(3)).join(', ')} (median ${guardRatios[Math.floor(guardRatios.length / 2)]!.toFixed(3)})\n`);
// The same comparison by CPU per request: off's CPU ÷ enforce's is the throughput ratio a
// CPU-bound server would see, and load from elsewhere on the machine moves it far less.
const cpuRatios = perRound.map((r) => r[1]!.cpuUs / r[2]!.cpuUs).sort((a, b) => a - b);
process.stdout.write(`fraud guard by CPU per request, off ÷ enforce, per round: ${cpuRatios.map((x) => x.toFixed(3)).join(', ')} (median ${cpuRatios[Math.floor(cpuRatios.length / 2)]!.toFixed(3)})\n`);
perRound.forEach((_, round) => {
  if (outboxAtEnd[round]) process.stdout.write(`\nround ${round + 1}: otpgate's outbox when the load stopped: ${outboxAtEnd[round]}`);
  holdsAtEnd[round]?.forEach((holds, i) => holds && process.stdout.write(`\nround ${round + 1}: ${servers[i]![0]}: writes held for the checkpoint: ${holds}`));
});
process.stdout.write('\n');
