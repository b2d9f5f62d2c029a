/**
 * The start-up guardrails, each through a real process (node + tsx running src/main.ts or
 * src/cli.ts): unknown OTPGATE_ variables, a second process on one SQLite file (and a lock left
 * by a killed one), a port in use, and the CLI's usage errors with its logs on stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_ERROR_EXIT_CODE } from '../../src/config/load.js';

/** The runner's environment without any OTPGATE_ variable of the shell it runs in, plus `env`. */
function processEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTPGATE_'))), ...env };
}

interface Proc {
  child: ChildProcess;
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null: killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves when the output matches `re`; rejects if the process exits first. */
  waitFor(re: RegExp): Promise<void>;
}

function start(entry: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { env: processEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.re.test(out + err)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (c: string) => ((out += c), check()));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => ((err += c), check()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out + err,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(out + err)) return resolve();
        waiters.push({ re, resolve });
        void exited.then((code) => reject(new Error(`exited (${code}) before ${re}:\n${out}${err}`)));
      }),
  };
}

const LISTENING = /"msg":"otpgate is listening"/;
const STACK = /\n\s+at /;

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await p.exited;
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

test('development: each unknown OTPGATE_ variable is reported at start with the nearest setting (never its value), and the server starts', async () => {
  const dir = tempDir('otpgate-unknown-');
  const p = start('src/main.ts', [], {
    OTPGATE_DATA_DIR: dir,
    OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}`,
    OTPGATE_PORT: '0',
    OTPGATE_PROT: '9090',
    OTPGATE_SECRET_KYE: 'value-that-must-not-be-echoed',
    // The tooling's own variables are not otpgate's settings, and not reported.
    OTPGATE_TEST_PG_URL: 'postgres://127.0.0.1/none',
    OTPGATE_CHROMIUM: '/usr/bin/chromium',
  });
  try {
    await p.waitFor(LISTENING);
    const warnings = p.output().split('\n').filter((l) => l.includes('is not an otpgate setting'));
    assert.equal(warnings.length, 2, p.output());
    const prot = JSON.parse(warnings.find((l) => l.includes('OTPGATE_PROT'))!);
    assert.equal(prot.level, 40, 'a warning');
    assert.equal(prot.msg, 'OTPGATE_PROT is not an otpgate setting; did you mean OTPGATE_PORT?');
    assert.match(warnings.find((l) => l.includes('OTPGATE_SECRET_KYE'))!, /did you mean OTPGATE_SECRET_KEY\?/);
    assert.doesNotMatch(p.output(), /value-that-must-not-be-echoed/);
    assert.doesNotMatch(p.output(), /OTPGATE_TEST_PG_URL|OTPGATE_CHROMIUM/);
  } finally {
    await stop(p);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('production: an unknown OTPGATE_ variable is refused, with exit status 2 and the nearest setting, before anything is created', async () => {
  const dir = tempDir('otpgate-unknown-prod-');
  const p = start('src/main.ts', [], {
    OTPGATE_ENV: 'production',
    OTPGATE_ADMIN_KEY: 'adm_test_0123456789abcdefghijklmnop',
    OTPGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    OTPGATE_DATA_DIR: dir,
    OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}`,
    OTPGATE_PORT: '0',
    OTPGATE_LOG_LEVLE: 'debug',
  });
  try {
    assert.equal(await p.exited, CONFIG_ERROR_EXIT_CODE, p.output());
    assert.match(p.stderr(), /^otpgate: invalid configuration:/);
    assert.match(p.stderr(), /OTPGATE_LOG_LEVLE: is not an otpgate setting; did you mean OTPGATE_LOG_LEVEL\? \(unknown variables are refused in production\)/);
    assert.doesNotMatch(p.stderr(), STACK);
    assert.deepEqual(readdirSync(dir), [], 'nothing created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second process on the same SQLite file is refused naming the file and the pid; a lock left by a killed process does not block the next start', async () => {
  const dir = tempDir('otpgate-lock-');
  const file = join(dir, 'o.db');
  const env = { OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${file}`, OTPGATE_PORT: '0' };
  const first = start('src/main.ts', [], env);
  let third: Proc | undefined;
  try {
    await first.waitFor(LISTENING);
    const second = start('src/main.ts', [], env);
    assert.equal(await second.exited, 1, second.output());
    assert.match(second.stderr(), new RegExp(`^otpgate: could not start: the SQLite database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another otpgate process \\(pid ${first.child.pid}, started `));
    assert.match(second.stderr(), /OTPGATE_DATABASE_URL/);
    assert.doesNotMatch(second.stderr(), STACK);
    assert.doesNotMatch(second.output(), LISTENING);

    // SIGKILL: no shutdown code runs, the lock file stays; the kernel drops the lock itself.
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null);
    third = start('src/main.ts', [], env);
    await third.waitFor(LISTENING);
  } finally {
    await stop(first);
    if (third) await stop(third);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a port in use: one line naming host:port and OTPGATE_PORT, exit status 1, no stack trace', async () => {
  const dir = tempDir('otpgate-port-');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  try {
    const p = start('src/main.ts', [], { OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}`, OTPGATE_PORT: String(port) });
    assert.equal(await p.exited, 1, p.output());
    assert.equal(p.stderr(), `otpgate: could not start: 127.0.0.1:${port} is already in use (another process listens there); stop that process, or set OTPGATE_PORT to a free port.\n`);
    // The lock of the SQLite file is released on that failure: the next start on it works.
    const again = start('src/main.ts', [], { OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}`, OTPGATE_PORT: '0' });
    try {
      await again.waitFor(LISTENING);
    } finally {
      await stop(again);
    }
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: an unknown or incomplete command line says exactly what, with the usage, on stderr, exit status 2, before reading the configuration', async () => {
  const dir = tempDir('otpgate-cli-usage-');
  const env = { OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}` };
  const cases: [string[], string][] = [
    [[], 'no command given'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['--verbose'], 'unknown option --verbose'],
    [['tenant'], 'tenant: missing the subcommand (create or list)'],
    [['tenant', 'make'], 'tenant: unknown subcommand "make" (create or list)'],
    [['tenant', 'create'], 'tenant create: missing <name>'],
    [['tenant', 'create', 'Acme', '{nope'], 'tenant create: settings-json is not valid JSON'],
    [['tenant', 'list', 'extra'], 'tenant list: unexpected argument "extra"'],
    [['key', 'create'], 'key create: missing <tenant-id>'],
    [['key', 'create', 'ten_1', '--scope', 'otp'], 'key create: unknown option --scope'],
    [['key', 'create', 'ten_1', '--scopes'], 'key create: --scopes needs a comma-separated list of scopes'],
    [['send-test', 'ten_1'], 'send-test: missing <phone>'],
    [['send-test'], 'send-test: missing <tenant-id> and <phone>'],
    [['phone', 'forget', 'ten_1', '+14155552671'], 'phone: unknown subcommand "forget" (export or erase)'],
    [['phone', 'export', 'ten_1'], 'phone export: missing <phone>'],
    [['migrate', '--force'], 'migrate: unknown option --force'],
  ];
  try {
    // Four at a time: each is a Node process on a machine the other suites share.
    const runs: Proc[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4).map(([args]) => start('src/cli.ts', args, env));
      await Promise.all(batch.map((p) => p.exited));
      runs.push(...batch);
    }
    for (const [i, [args, message]] of cases.entries()) {
      const p = runs[i]!;
      assert.equal(await p.exited, 2, `${args.join(' ')}: ${p.output()}`);
      assert.equal(p.stdout(), '', `${args.join(' ')}: nothing on stdout`);
      assert.ok(p.stderr().startsWith(`otpgate: ${message}`), `${args.join(' ')}: ${p.stderr()}`);
      assert.match(p.stderr(), /\nusage:\n/, `${args.join(' ')}: the usage follows`);
    }
    assert.deepEqual(readdirSync(dir), [], 'a usage error reads no configuration and opens no database');
    const help = start('src/cli.ts', ['help'], env);
    assert.equal(await help.exited, 0);
    assert.match(help.stdout(), /^otpgate — /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: logs go to stderr, and stdout holds the JSON result alone', async () => {
  const dir = tempDir('otpgate-cli-streams-');
  // OTPGATE_PROT makes the CLI log a warning; OTPGATE_LOG_LEVEL=debug would log more.
  const env = { OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}`, OTPGATE_PROT: '1', OTPGATE_LOG_LEVEL: 'debug' };
  try {
    const created = start('src/cli.ts', ['tenant', 'create', 'Acme'], env);
    assert.equal(await created.exited, 0, created.output());
    const tenant = JSON.parse(created.stdout());
    assert.match(tenant.id, /^ten_/);
    assert.match(created.stderr(), /"msg":"OTPGATE_PROT is not an otpgate setting; did you mean OTPGATE_PORT\?"/);
    const listed = start('src/cli.ts', ['tenant', 'list'], env);
    assert.equal(await listed.exited, 0, listed.output());
    assert.deepEqual(JSON.parse(listed.stdout()).map((t: { id: string }) => t.id), [tenant.id]);
    assert.match(listed.stderr(), /OTPGATE_PROT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
