// Send throughput and latency: otpgate vs the same-run baseline, autocannon with 50 connections.
// Usage: npm run bench [-- seconds]   (default 10 s per server). Prints a Markdown table.
import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';

const seconds = Number(process.argv[2] ?? 10);
const connections = 50;

function startChild(script: string): Promise<{ child: ChildProcess; url: string; key?: string; output(): string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
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

async function load(url: string, key?: string) {
  let i = 0;
  const result = await autocannon({
    url: `${url}/v1/otp/send`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    requests: [
      {
        setupRequest: (req) => {
          i += 1;
          return { ...req, body: JSON.stringify({ phone_number: `+1415555${String(i % 10000).padStart(4, '0')}` }) };
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
  ['baseline (Fastify + better-sqlite3, 2 inserts)', 'bench/servers/baseline.ts'],
  ['otpgate POST /v1/otp/send (SQLite, Inbox, dispatcher on)', 'bench/servers/otpgate.ts'],
] as const;
const perRound: Array<Array<Awaited<ReturnType<typeof load>>>> = [];
/** otpgate's outbox by status when the load stopped (warm-up and measured pass together). */
const outboxAtEnd: string[] = [];
for (let round = 0; round < rounds; round++) {
  const results: Array<Awaited<ReturnType<typeof load>>> = [];
  for (const [, script] of servers) {
    const s = await startChild(script);
    await load(s.url, s.key).catch(() => undefined); // warm-up pass, discarded
    results.push(await load(s.url, s.key));
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
process.stdout.write(`\n${connections} connections, ${seconds} s per server and round, ${rounds} rounds, Node ${process.version}\n\n| round | server | req/s | p50 ms | p99 ms | non-2xx | errors | ratio |\n|---|---|---|---|---|---|---|---|\n`);
perRound.forEach((results, round) => {
  results.forEach((r, i) => {
    process.stdout.write(`| ${round + 1}${round === median ? ' (median)' : ''} | ${servers[i]![0]} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${(r.rps / results[0]!.rps).toFixed(2)} |\n`);
  });
});
perRound.forEach((_, round) => {
  if (outboxAtEnd[round]) process.stdout.write(`\nround ${round + 1}: otpgate's outbox when the load stopped: ${outboxAtEnd[round]}`);
});
process.stdout.write('\n');
