// Sends at a fixed rate on a large SQLite store while an operator looks around the console: the
// dashboard's 7-day statistics, the message log filtered on something few messages match, the
// fraud guard's 30-day stats, one after another as fast as they answer. Against the same sends
// with no reader, in the same run. The store is a copy of the big-store bench's (bench/big-store/
// build.ts), migrated by the server it is given to; the server is bench/servers/otpgate-big.ts
// from the source tree `dir`, so that two commits can be compared on copies of one store.
// Usage: npx tsx bench/console-load.ts [seconds per phase=10] [rounds=2] [sends/s=300] [dir=.] [rows=1000000]
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { benchTenantId, buildSqlite } from './big-store/build.js';
import { holdsOf, newNumbers, sendsAtRate, startGateway, startOtpgate, stopChild } from './servers/bench-support.js';
import { pgNodeEnv } from './servers/node-env.js';

const seconds = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 2);
const rate = Number(process.argv[4] ?? 300);
const dir = resolve(process.argv[5] ?? '.');
const rows = Number(process.argv[6] ?? 1_000_000);

const built = await buildSqlite(rows, { dir: '/tmp/otpgate-big', rebuild: false });
const work = mkdtempSync(join(tmpdir(), 'otpgate-console-load-'));
const file = join(work, 'store.db');
copyFileSync(built.url.slice('sqlite:'.length), file);
const gatewayKey = 'gw-bench-key';
const gateway = await startGateway(gatewayKey);
const { child, url, key } = await startOtpgate(
  {
    ...pgNodeEnv({ dbUrl: `sqlite:${file}`, adminKey: `adm_bench_${randomBytes(12).toString('hex')}`, secretKey: createHash('sha256').update('otpgate bench: the big store').digest('base64'), dataDir: work, gatewayUri: gateway.uri, gatewayKey, logLevel: 'warn' }),
    BENCH_TENANT_ID: benchTenantId,
  },
  dir,
  'bench/servers/otpgate-big.ts',
  120_000,
);
const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };

const nextPhone = newNumbers();

/** What an operator reads, in turn: each a request the console makes. */
const allReads = ['/v1/stats?window=7d', '/v1/messages?limit=25&kind=event', `/v1/messages?limit=25&phone_number=${encodeURIComponent('+14155550000')}`, '/v1/fraud-guard/stats?window=30d'];
// BENCH_READS=0,2 reads only those of the list.
const reads = process.env.BENCH_READS ? process.env.BENCH_READS.split(',').map((i) => allReads[Number(i)]!) : allReads;

async function phase(withReader: boolean) {
  let stop = false;
  const times: number[] = [];
  const reader = (async () => {
    if (!withReader) return;
    for (let i = 0; !stop; i++) {
      const started = performance.now();
      const res = await fetch(`${url}${reads[i % reads.length]}`, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${reads[i % reads.length]}: ${res.status}`);
      times.push(performance.now() - started);
    }
  })();
  const result = await sendsAtRate(url, headers, rate, seconds, nextPhone);
  stop = true;
  await reader;
  times.sort((a, b) => a - b);
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx + result.errors,
    reads: times.length,
    readP50: times.length ? Math.round(times[Math.floor(times.length / 2)]!) : undefined,
    readMax: times.length ? Math.round(times.at(-1)!) : undefined,
  };
}

await phase(false); // warm-up, discarded
const lines: string[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const withReader of round % 2 ? [false, true] : [true, false]) {
    const r = await phase(withReader);
    lines.push(`| ${round} | ${withReader ? 'sends + console reads' : 'sends alone'} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.max} | ${r.non2xx} | ${r.reads || '–'} | ${r.readP50 ?? '–'} / ${r.readMax ?? '–'} |`);
    if (process.env.BENCH_HOLDS) console.error(`after round ${round}, ${withReader ? 'reads' : 'alone'}: ${await holdsOf(url)}`);
  }
}
await stopChild(child, 10_000);
await gateway.close();
rmSync(work, { recursive: true, force: true });

console.log(`\n${dir}: ${rate} sends/s offered by 20 connections on a copy of the ${rows.toLocaleString('en')}-row SQLite store, ${seconds} s per phase, Node ${process.version}\n`);
console.log('| round | phase | sends/s | p50 ms | p99 ms | max ms | non-2xx | reads | their p50 / max ms |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const line of lines) console.log(line);
