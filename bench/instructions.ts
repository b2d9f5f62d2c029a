// Instructions per send, counted by valgrind's callgrind: the same-run comparison that this
// machine's noise does not move. Each server runs under callgrind; after a warm-up the counters
// are zeroed, a fixed sequence of sends is made, the bench waits until otpgate has delivered
// every message it accepted, and the counts are dumped per thread. After 5,000 sends the JIT has
// settled and the main thread's count holds within about 1 % from pass to pass (after 3,000 a
// pass could still read a tenth high); V8's helper threads (GC, compiler) vary far more, so they
// are given apart.
// Callgrind counts user-space instructions only: the kernel's share of a request (the sockets,
// the file's writes) is not in them.
// Usage: npx tsx bench/instructions.ts [sends a pass [passes [warm-up sends]]]   (default 1000, 3, 5000)
//   BENCH_FRAUD_GUARD  off (default) or enforce, for otpgate
//   BENCH_SERVERS      baseline,otpgate (default) or either alone
//   BENCH_NODE_FLAGS   flags for each server's node, e.g. --predictable (V8's GC and compiler on the main thread)
//   BENCH_CALLGRIND_DIR  keep each server's dumps there, for callgrind_annotate (by function, per thread)
// Needs valgrind (Debian's package). A send costs about 100 times its native time under it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from '../src/store/sqlite-driver.js';
import { newNumbers } from './servers/bench-support.js';

const perPass = Number(process.argv[2] ?? 1000);
const passes = Number(process.argv[3] ?? 3);
const warmUp = Number(process.argv[4] ?? 5000);
const connections = 50;
const which = (process.env.BENCH_SERVERS ?? 'baseline,otpgate').split(',');
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

function startUnderCallgrind(script: string, outDir: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; key?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'valgrind',
      ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${join(outDir, 'cg')}`, process.execPath, ...nodeFlags, '--import', 'tsx', script],
      { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } },
    );
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start under valgrind`)), 600_000);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it listened`)));
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /listening (\S+)(?: (\S+))?/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, ...(m[2] ? { key: m[2] } : {}) });
      }
    });
  });
}

/**
 * The sends' bodies, one a call: a new number each (bench-support's `newNumbers`, the sequence
 * `npm run bench -- … new` sends) and an end-user IP from the same pool of 2,000.
 */
function sendBodies(): () => string {
  const nextPhone = newNumbers();
  let k = 0;
  return () => {
    const ip = `198.51.${Math.floor(k / 250) % 8}.${k % 250}`;
    k += 1;
    return JSON.stringify({ phone_number: nextPhone(), client_ip: ip });
  };
}

async function sends(url: string, key: string | undefined, next: () => string, amount: number): Promise<number> {
  const result = await autocannon({
    url: `${url}/v1/otp/send`,
    connections,
    amount,
    timeout: 600,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    requests: [{ setupRequest: (req) => ({ ...req, body: next() }) }],
  });
  if (result.non2xx || result.errors) throw new Error(`${result.non2xx} non-2xx answers and ${result.errors} errors`);
  return result.requests.total;
}

/** Until otpgate's outbox holds nothing queued or in flight (read from its file by another connection). */
async function delivered(dbFile: string | undefined): Promise<void> {
  if (!dbFile) return;
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const pending = db.prepare("select count(*) as n from messages where status in ('queued', 'sending')");
    const deadline = Date.now() + 600_000;
    while ((pending.get() as { n: number }).n > 0) {
      if (Date.now() > deadline) throw new Error('otpgate did not deliver its outbox within 10 minutes');
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    db.close();
  }
}

/** Each thread's instruction count from one dump (files cg.<dump>-<thread>, thread 01 the main one). */
function counts(outDir: string, dump: number): number[] {
  const out: number[] = [];
  for (const f of readdirSync(outDir)) {
    const m = new RegExp(`^cg\\.${dump}-(\\d+)$`).exec(f);
    if (!m) continue;
    const summary = /^summary: (\d+)$/m.exec(readFileSync(join(outDir, f), 'utf8'));
    out[Number(m[1]) - 1] = Number(summary?.[1] ?? 0);
  }
  // A thread that has ended leaves no file: counted 0, not a hole.
  return Array.from(out, (n) => n ?? 0);
}

function control(pid: number, command: '-z' | '-d'): void {
  const r = spawnSync('callgrind_control', [command, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`callgrind_control ${command}: ${r.stderr}`);
}

const servers = [
  ['baseline', 'bench/servers/baseline.ts'],
  ['otpgate', 'bench/servers/otpgate.ts'],
] as const;
const rows: string[] = [];
for (const [name, script] of servers.filter(([n]) => which.includes(n))) {
  const keep = process.env.BENCH_CALLGRIND_DIR;
  const outDir = keep ? mkdtempSync(join(keep, `${name}-`)) : mkdtempSync(join(tmpdir(), 'otpgate-callgrind-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'otpgate-bench-'));
  const s = await startUnderCallgrind(script, outDir, { BENCH_DATA_DIR: dataDir, BENCH_FRAUD_GUARD: process.env.BENCH_FRAUD_GUARD ?? 'off' });
  const pid = s.child.pid!;
  const dbFile = name === 'otpgate' ? join(dataDir, 'otpgate.db') : undefined;
  try {
    const next = sendBodies();
    await sends(s.url, s.key, next, warmUp);
    await delivered(dbFile);
    for (let pass = 1; pass <= passes; pass++) {
      control(pid, '-z');
      const n = await sends(s.url, s.key, next, perPass);
      await delivered(dbFile);
      control(pid, '-d');
      const c = counts(outDir, pass);
      const main = c[0] ?? 0;
      const all = c.reduce((a, b) => a + b, 0);
      const others = c.slice(1).map((x, i) => [x, i + 2] as const).filter(([x]) => x > 0.02 * all).sort((a, b) => b[0] - a[0]);
      rows.push(`| ${name} | ${pass} | ${n} | ${Math.round(main / n / 1000)} | ${Math.round(all / n / 1000)} | ${others.map(([x, t]) => `${t}: ${Math.round(x / n / 1000)}`).join(', ')} |`);
      process.stderr.write(`${rows.at(-1)}\n`);
    }
  } finally {
    s.child.kill('SIGKILL');
    await new Promise((r) => s.child.once('exit', r));
    if (!keep) rmSync(outDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}
process.stdout.write(`\n${connections} connections, ${warmUp} sends to warm up, then ${passes} passes of ${perPass}, a new number for every send, fraud guard ${process.env.BENCH_FRAUD_GUARD ?? 'off'}, Node ${process.version}, under callgrind\n\n| server | pass | sends | main thread, k instructions a send | all threads | other threads over 2 % (thread: k a send) |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
