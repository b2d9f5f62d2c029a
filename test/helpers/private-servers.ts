import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';

/**
 * Database servers a test starts, stops, pauses (SIGSTOP) and resumes itself, never the shared
 * ones on 5432 and 6379: the outage suites (test/outage) take them away under load.
 */

/**
 * Where PostgreSQL's server binaries are: `OTPGATE_TEST_PG_BIN`, else the newest
 * /usr/lib/postgresql/<version>/bin that has initdb (Debian's layout, as in CI).
 */
export const pgBinDir =
  process.env.OTPGATE_TEST_PG_BIN ??
  (() => {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
    versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    return join(root, versions[0] ?? '15', 'bin');
  })();

/** A free TCP port on 127.0.0.1 (the OS picks it; nothing else binds it in the moment before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * initdb and postgres refuse to run as root: as root they run as the `postgres` user through
 * runuser, with the data folder given to that user; as anyone else, as that user.
 */
function asPgUser(): { prefix: string[]; chown?: { uid: number; gid: number } } | string {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0 || gid.status !== 0) return 'running as root and there is no postgres user to run PostgreSQL as';
  if (spawnSync('runuser', ['--help'], { stdio: 'ignore' }).status !== 0) return 'running as root and runuser is missing';
  return { prefix: ['runuser', '-u', 'postgres', '--'], chown: { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) } };
}

/**
 * Why a private PostgreSQL cannot be started here, or false when it can. In CI (CI=true) a
 * missing PostgreSQL is an error, never a skip.
 */
export function privatePostgresSkipReason(): string | false {
  let reason: string | undefined;
  if (!existsSync(join(pgBinDir, 'initdb')) || !existsSync(join(pgBinDir, 'pg_ctl'))) reason = `no initdb/pg_ctl in ${pgBinDir} (set OTPGATE_TEST_PG_BIN)`;
  else if (process.platform === 'win32') reason = 'SIGSTOP/SIGCONT are POSIX only';
  else {
    const user = asPgUser();
    if (typeof user === 'string') reason = user;
  }
  if (!reason) return false;
  if (process.env.CI === 'true') throw new Error(`the outage suites need a private PostgreSQL in CI: ${reason}`);
  process.stderr.write(`# skipping the PostgreSQL outage suite: ${reason}\n`);
  return reason;
}

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  url: string;
  /** `pg_ctl stop -m fast`: connections are closed, new ones refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP (pause) or SIGCONT (resume) to the server and every process of it: nothing answers, connections hang. */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void;
  /** Stops it (resuming it first if paused) and removes its folder. */
  destroy(): Promise<void>;
}

function run(cmd: string[], what: string): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/** The pids of a process and all its descendants (Linux /proc). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // The process ended meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** initdb into a temp folder and start the server on a free port: about a second. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const user = asPgUser();
  if (typeof user === 'string') throw new Error(user);
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-pg-'));
  if (user.chown) chownSync(dir, user.chown.uid, user.chown.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  run([...user.prefix, join(pgBinDir, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], 'initdb');
  // No durability needed for a throwaway server; a small footprint on a 2-core machine.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40 -c shared_buffers=32MB`;
  const pgCtl = (...args: string[]) => run([...user.prefix, join(pgBinDir, 'pg_ctl'), '-D', data, ...args], `pg_ctl ${args[0]}`);
  const start = async () => pgCtl('start', '-w', '-t', '30', '-l', join(dir, 'log'), '-o', options);
  await start();
  let paused = false;
  let destroyed = false;
  // A test process that dies mid-pause must not leave a stopped server behind.
  const onExit = () => {
    if (destroyed) return;
    try {
      server.signal('SIGCONT');
    } catch {
      // Not running.
    }
    const cmd = [...user.prefix, join(pgBinDir, 'pg_ctl'), '-D', data, 'stop', '-m', 'immediate'];
    spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    async stop() {
      pgCtl('stop', '-w', '-m', 'fast');
    },
    signal(sig) {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      for (const p of processTree(pid)) {
        try {
          process.kill(p, sig);
        } catch {
          // A backend that just ended.
        }
      }
      paused = sig === 'SIGSTOP';
    },
    async destroy() {
      destroyed = true;
      process.removeListener('exit', onExit);
      if (paused) server.signal('SIGCONT');
      try {
        pgCtl('stop', '-w', '-m', 'immediate');
      } catch {
        // Already stopped.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Runs one statement on the private server with a short-lived client. */
export async function queryPrivate<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why a private redis-server cannot be started here, or false (CI: an error, never a skip). */
export function privateRedisSkipReason(): string | false {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) return false;
  const reason = 'redis-server is not on PATH';
  if (process.env.CI === 'true') throw new Error(`the outage suites need redis-server in CI: ${reason}`);
  process.stderr.write(`# skipping the Redis outage suite: ${reason}\n`);
  return reason;
}

export interface PrivateRedis {
  url: string;
  /** SIGSTOP (pause) or SIGCONT (resume). */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill). */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** A redis-server without persistence on a free port. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    // Ready when it answers PING.
    for (let i = 0; ; i++) {
      const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        await r.ping();
        return;
      } catch (err) {
        if (i > 200) throw err;
        await new Promise((done) => setTimeout(done, 25));
      } finally {
        r.disconnect();
      }
    }
  };
  await start();
  const onExit = () => {
    child?.kill('SIGCONT');
    child?.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((done) => c.once('exit', done));
    c.kill('SIGKILL');
    await exited;
  };
  return {
    url,
    signal: (sig) => void child?.kill(sig),
    kill,
    start,
    async destroy() {
      process.removeListener('exit', onExit);
      child?.kill('SIGCONT');
      await kill();
    },
  };
}
