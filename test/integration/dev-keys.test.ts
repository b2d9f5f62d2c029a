import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envNames } from '../../src/config/schema.js';

const PHONE = '+14155552671';

interface Started {
  url: string;
  /** The admin key the banner printed. */
  printedAdminKey: string;
  stdout(): string;
  /** SIGTERM, resolves with the exit status. */
  stop(): Promise<number | string>;
}

/**
 * `node src/main.ts` as `npm start` runs it, in development with no key in the environment;
 * resolves once the start banner (URL and admin key) is printed.
 */
/** The test runner's environment without any otpgate setting of the shell it runs in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const settings = new Set(Object.values(envNames));
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !settings.has(k)));
}

async function start(dataDir: string): Promise<Started> {
  const env = cleanEnv();
  Object.assign(env, {
    OTPGATE_DATA_DIR: dataDir,
    OTPGATE_DATABASE_URL: `sqlite:${join(dataDir, 'otpgate.db')}`,
    OTPGATE_HOST: '127.0.0.1',
    OTPGATE_PORT: '0',
    OTPGATE_SHUTDOWN_GRACE_MS: '2000',
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const banner = /otpgate development — (http:\/\/\S+)\n[\s\S]*?admin key \(from (.+?)\): (\S+)\n/;
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no start banner within 30 s; stdout: ${out}; stderr: ${err}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = banner.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`otpgate exited (${code}) before its banner; stderr: ${err}`));
    });
  });
  assert.equal(match[2], join(dataDir, 'admin-key'), 'the banner says where the key is kept');
  return {
    url: match[1]!,
    printedAdminKey: match[3]!,
    stdout: () => out,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

async function call(url: string, method: string, path: string, auth: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${auth}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** The code in the tenant's Inbox, once the dispatcher has delivered it. */
async function codeFromInbox(url: string, auth: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const inbox = await call(url, 'GET', `/v1/inbox?phone_number=${encodeURIComponent(PHONE)}`, auth);
    const code = /(\d{6})/.exec(inbox.json?.items?.[0]?.body ?? '')?.[1];
    if (code) return code;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('the code never reached the Inbox');
}

test('development keys persist: generated into the data folder once, printed at start, reused after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-devkeys-'));
  const adminFile = join(dir, 'admin-key');
  const secretFile = join(dir, 'secret-key');
  try {
    const first = await start(dir);
    let files: { admin: string; secret: string };
    let apiKey: string;
    let challengeId: string;
    let code: string;
    try {
      files = { admin: readFileSync(adminFile, 'utf8'), secret: readFileSync(secretFile, 'utf8') };
      assert.equal(first.printedAdminKey, files.admin.trim(), 'the printed admin key is the one in the data folder');
      assert.match(first.printedAdminKey, /^adm_/);
      assert.equal(Buffer.from(files.secret.trim(), 'base64').length, 32);

      const tenant = await call(first.url, 'POST', '/v1/tenants', first.printedAdminKey, { name: 'Acme' });
      assert.equal(tenant.status, 201, JSON.stringify(tenant.json));
      const key = await call(first.url, 'POST', `/v1/tenants/${tenant.json.id}/api-keys`, first.printedAdminKey, { name: 'backend' });
      assert.equal(key.status, 201, JSON.stringify(key.json));
      apiKey = key.json.key;
      const sent = await call(first.url, 'POST', '/v1/otp/send', apiKey, { phone_number: PHONE, purpose: 'login' });
      assert.equal(sent.status, 202, JSON.stringify(sent.json));
      challengeId = sent.json.challenge_id;
      code = await codeFromInbox(first.url, apiKey);
    } finally {
      assert.equal(await first.stop(), 0);
    }
    assert.doesNotMatch(first.stdout(), new RegExp(files.secret.trim().replace(/[+/=]/g, '\\$&')), 'the secret key is never printed');
    assert.match(first.stdout(), /no operator yet: create the first owner with {2}otpgate operator create --role owner --email/, 'a fresh install says how to make the first owner');

    // The first owner, made with the CLI (password from the environment, never a flag).
    const made = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'operator', 'create', '--role', 'owner', '--email', 'Owner@Example.com'], {
      env: { ...cleanEnv(), OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'otpgate.db')}`, OTPGATE_OPERATOR_PASSWORD: 'first owner passphrase' },
      encoding: 'utf8',
    });
    assert.equal(made.status, 0, made.stderr);
    assert.equal(JSON.parse(made.stdout).role, 'owner');
    assert.doesNotMatch(made.stdout + made.stderr, /first owner passphrase/);

    const second = await start(dir);
    try {
      assert.deepEqual({ admin: readFileSync(adminFile, 'utf8'), secret: readFileSync(secretFile, 'utf8') }, files, 'the key files are unchanged');
      assert.equal(second.printedAdminKey, first.printedAdminKey, 'the same admin key on the second start');
      assert.equal((await call(second.url, 'GET', '/v1/tenants', first.printedAdminKey)).status, 200, 'the first admin key still signs in');
      assert.doesNotMatch(second.stdout(), /no operator yet/);
      const signedIn = await fetch(`${second.url}/v1/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'owner@example.com', password: 'first owner passphrase' }) });
      assert.equal(signedIn.status, 200, 'the owner made with the CLI signs in');
      // The code's HMAC key derives from the secret key: it verifies only if the same key came back.
      const verified = await call(second.url, 'POST', '/v1/otp/verify', apiKey, { challenge_id: challengeId, code });
      assert.equal(verified.status, 200, JSON.stringify(verified.json));
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
