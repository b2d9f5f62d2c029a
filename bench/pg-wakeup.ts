// LISTEN/NOTIFY wake-up latency between two otpgate nodes on one PostgreSQL: how long a
// message sent through node A takes to reach the provider when only node B can deliver it.
//
// Usage: npx tsx bench/pg-wakeup.ts [sends=200]
//   OTPGATE_BENCH_PG_URL  server to create the bench database on (default postgres://postgres@127.0.0.1:5432/test)
//
// Node A runs in this process (startServer, as main.ts runs it) with its dispatcher stopped, so
// it only answers the send and NOTIFYs; node B is a real `src/main.ts` process with the default
// 1 s poll, woken by A's NOTIFY on its LISTEN connection. Both deliver to a custom gateway on
// 127.0.0.1 in this process, which notes when each message arrives. Sends go one at a time
// (a new phone each, 20–80 ms apart, so NOTIFY coalescing plays no part) over HTTP to A.
// Timed with this process's monotonic clock: from the send request to the gateway receiving
// the SMS, and from A's 202 answer to it. Without the NOTIFY, B would find a message by
// polling, 0–1,000 ms later (uniformly): the latencies below say which one happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server.js';
import { pgNodeEnv } from './servers/node-env.js';

const sends = Number(process.argv[2] ?? 200);
const warmup = 20;
const pgUrl = process.env.OTPGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const adminKey = `adm_bench_${randomBytes(12).toString('hex')}`;
const secretKey = randomBytes(32).toString('base64');
const gatewayKey = `gw_bench_${randomBytes(8).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The gateway: resolves the waiter of a phone when its SMS arrives. */
async function startGateway() {
  const waiters = new Map<string, (at: number) => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      if (req.headers['x-api-key'] !== gatewayKey) return void res.writeHead(401).end();
      if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key: req.headers['x-verification-key'] }));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { phone_number: string };
      waiters.get(body.phone_number)?.(at);
      waiters.delete(body.phone_number);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"gw_1"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`,
    arrival: (phone: string) => new Promise<number>((resolve) => waiters.set(phone, resolve)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function nodeEnv(dbUrl: string, gatewayUri: string, dataDir: string): Record<string, string> {
  return pgNodeEnv({ dbUrl, adminKey, secretKey, dataDir, gatewayUri, gatewayKey, logLevel: 'warn' });
}

/** Node B: a real process; resolves once it listens (its LISTEN connection is up by then). */
function startNodeB(env: Record<string, string>): Promise<ChildProcess> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTPGATE_')) clean[k] = v;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...clean, ...env, OTPGATE_LOG_LEVEL: 'info' } });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"otpgate is listening"')) {
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`node B exited (${code}): ${err}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const name = `otpgate_bench_${randomBytes(5).toString('hex')}`;
await admin(`create database ${name}`);
const u = new URL(pgUrl);
u.pathname = `/${name}`;
const dbUrl = u.toString();
const dirA = mkdtempSync(join(tmpdir(), 'otpgate-wake-a-'));
const dirB = mkdtempSync(join(tmpdir(), 'otpgate-wake-b-'));
const gateway = await startGateway();
const a = await startServer(loadConfig(nodeEnv(dbUrl, gateway.uri, dirA)), createLogger({ level: 'warn' }));
let b: ChildProcess | undefined;
try {
  await a.deps.dispatcher.stop(0);
  b = await startNodeB(nodeEnv(dbUrl, gateway.uri, dirB));
  const tenant = await a.deps.tenants.create({ name: 'Wake', settings: { max_sends_per_phone_per_hour: 100_000, resend_cooldown_seconds: 0, fraud_guard: { mode: 'off' } } }, 'bench');
  const key = await a.deps.apiKeys.create(tenant.id, 'bench', 'bench');
  const total: number[] = [];
  const afterAnswer: number[] = [];
  for (let i = 0; i < warmup + sends; i++) {
    const phone = `+1202${3_000_000 + i}`;
    const arrived = gateway.arrival(phone);
    const t0 = performance.now();
    const r = await fetch(`${a.url}/v1/otp/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ phone_number: phone }),
    });
    const answered = performance.now();
    if (r.status !== 202) throw new Error(`send: ${r.status} ${await r.text()}`);
    const at = await Promise.race([arrived, sleep(5000).then(() => Number.NaN)]);
    if (Number.isNaN(at)) throw new Error(`no SMS for ${phone} within 5 s`);
    if (i >= warmup) {
      total.push(at - t0);
      afterAnswer.push(at - answered);
    }
    await sleep(20 + Math.random() * 60);
  }
  const row = (label: string, xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    const f = (n: number) => n.toFixed(1);
    return `| ${label} | ${f(percentile(s, 50))} | ${f(percentile(s, 95))} | ${f(percentile(s, 99))} | ${f(s.at(-1)!)} |`;
  };
  const stats = a.wakeup?.stats;
  process.stdout.write(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${sends} sends after ${warmup} warm-up; A sent ${stats?.sent ?? 0} NOTIFYs\n\n`);
  process.stdout.write('| ms | p50 | p95 | p99 | max |\n|---|---|---|---|---|\n');
  process.stdout.write(`${row('send request → SMS at the gateway (via B)', total)}\n${row("A's 202 answer → SMS at the gateway", afterAnswer)}\n`);
  process.stdout.write(`\nslower than 100 ms (a poll rather than the NOTIFY): ${total.filter((x) => x > 100).length} of ${sends}\n`);
} finally {
  if (b && b.exitCode === null) {
    const exited = new Promise((r) => b!.once('exit', r));
    b.kill('SIGTERM');
    await exited;
  }
  await a.stop();
  await gateway.close();
  await admin(`drop database if exists ${name} with (force)`);
  rmSync(dirA, { recursive: true, force: true });
  rmSync(dirB, { recursive: true, force: true });
}
