// Sends at a fixed rate while numbers are erased, on one otpgate server (SQLite, Inbox, dispatch
// worker), against the same sends alone and the same sends with an export of a number as often,
// in the same run. An erasure reads what an export reads (a walk of the tenant's messages), then
// changes the rows and ends by emptying SQLite's write-ahead log between two write batches
// (src/store/empty-log.ts); the export phase shows what the reading alone costs the sends.
// Usage: npx tsx bench/erasure-load.ts [seconds per phase=8] [rounds=2] [sends/s=800]
import { newNumbers, sendsAtRate, startOtpgate } from './servers/bench-support.js';

const seconds = Number(process.argv[2] ?? 8);
const rounds = Number(process.argv[3] ?? 2);
const rate = Number(process.argv[4] ?? 800);
const ERASE_EVERY_MS = 250;

const { child, url, key } = await startOtpgate({ BENCH_FRAUD_GUARD: 'off' });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };

const nextPhone = newNumbers();

async function post(path: string, body: unknown): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

/** Numbers with data to erase: each has a code, its verification, its message and inbox item. */
const targets: string[] = [];
async function prepareTargets(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const phone = nextPhone();
    const r = await post('/v1/otp/send', { phone_number: phone });
    if (r.status !== 202) throw new Error(`send to ${phone}: ${r.status}`);
    targets.push(phone);
  }
}

type Phase = 'sends alone' | 'export' | 'erasure';

async function phase(kind: Phase) {
  const erasures: number[] = [];
  let stop = false;
  const eraser = (async () => {
    if (kind === 'sends alone') return;
    while (!stop) {
      const phone = kind === 'erasure' ? targets.shift() : targets[0];
      if (!phone) throw new Error('no number left to erase');
      const r = await post(kind === 'erasure' ? '/v1/phones/erase' : '/v1/phones/export', { phone_number: phone });
      if (r.status !== 200) throw new Error(`${kind}: ${r.status}`);
      erasures.push(r.ms);
      await new Promise((done) => setTimeout(done, ERASE_EVERY_MS));
    }
  })();
  const result = await sendsAtRate(url, headers, rate, seconds, nextPhone);
  stop = true;
  await eraser;
  erasures.sort((a, b) => a - b);
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx + result.errors,
    erasures: erasures.length,
    eraseP50: erasures.length ? Math.round(erasures[Math.floor(erasures.length / 2)]!) : undefined,
    eraseMax: erasures.length ? Math.round(erasures.at(-1)!) : undefined,
  };
}

const needed = Math.ceil((1000 / ERASE_EVERY_MS) * seconds * rounds) + 10;
await prepareTargets(needed);
await phase('sends alone'); // warm-up, discarded
const rows: string[] = [];
const phases: Phase[] = ['sends alone', 'export', 'erasure'];
for (let round = 1; round <= rounds; round++) {
  for (const kind of round % 2 ? phases : [...phases].reverse()) {
    const r = await phase(kind);
    const what = kind === 'sends alone' ? 'sends alone' : `sends + an ${kind} every ${ERASE_EVERY_MS} ms`;
    rows.push(`| ${round} | ${what} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.max} | ${r.non2xx} | ${r.erasures || '–'} | ${r.eraseP50 ?? '–'} / ${r.eraseMax ?? '–'} |`);
  }
}
child.kill('SIGTERM');
await new Promise((done) => child.once('exit', done));

console.log(`\n${rate} sends/s offered by 20 connections, ${seconds} s per phase, ${rounds} rounds, Node ${process.version}\n`);
console.log('| round | phase | sends/s | p50 ms | p99 ms | max ms | non-2xx | exports or erasures | their p50 / max ms |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
