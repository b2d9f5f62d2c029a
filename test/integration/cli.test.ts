import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_ERROR_EXIT_CODE } from '../../src/config/load.js';
import { envNames } from '../../src/config/schema.js';

/** The test runner's environment without any otpgate setting of the shell it runs in, plus `env`. */
function processEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const settings = new Set(Object.values(envNames));
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !settings.has(k))), ...env };
}

function run(entry: string, args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], { env: processEnv(env), encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cli = (args: string[], env: Record<string, string>) => run('src/cli.ts', args, env);

test('otpgate CLI: migrate, tenant create|list, key create, send-test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-cli-'));
  const env = { OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}` };
  try {
    const m = cli(['migrate'], env);
    assert.equal(m.code, 0, m.stderr);
    const t = cli(['tenant', 'create', 'Acme', '{"otp_length":8}'], env);
    assert.equal(t.code, 0, t.stderr);
    const tenant = JSON.parse(t.stdout);
    assert.equal(tenant.settings.otp_length, 8);
    const l = cli(['tenant', 'list'], env);
    assert.equal(JSON.parse(l.stdout)[0].id, tenant.id);
    const k = cli(['key', 'create', tenant.id, 'backend'], env);
    assert.match(JSON.parse(k.stdout).key, /^otpg_/);
    const s = cli(['send-test', tenant.id, '+14155552671'], env);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).status, 'accepted');
    const bad = cli(['send-test', tenant.id, 'nope'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /phone\.invalid/);
    const usage = cli(['frobnicate'], env);
    assert.equal(usage.code, 2);
    const badEnv = cli(['migrate'], { ...env, OTPGATE_PORT: 'eighty', OTPGATE_ENV: 'staging' });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /OTPGATE_PORT/);
    assert.match(badEnv.stderr, /OTPGATE_ENV/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('production refuses to start without the admin and secret keys, and names every other bad setting too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-prod-'));
  try {
    const r = run('src/main.ts', [], { OTPGATE_ENV: 'production', OTPGATE_DATA_DIR: dir, OTPGATE_ADMIN_KEY: '', OTPGATE_SECRET_KEY: '', OTPGATE_PORT: 'eighty' });
    assert.equal(r.code, CONFIG_ERROR_EXIT_CODE, r.stderr);
    assert.match(r.stderr, /OTPGATE_ADMIN_KEY: required in production/);
    assert.match(r.stderr, /OTPGATE_SECRET_KEY: required in production/);
    assert.match(r.stderr, /OTPGATE_PORT: must be a whole number from 0 to 65535/);
    assert.deepEqual(readdirSync(dir), [], 'no key generated in production');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every bad setting is reported at once, with exit status 2, by npm start, otpgate serve and the other commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-badcfg-'));
  const secretKey = 'garbage-secret-key-value';
  const gatewayKey = 'gw-secret-api-key-value';
  const env = {
    OTPGATE_DATA_DIR: dir,
    OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}`,
    OTPGATE_PORT: 'eighty',
    OTPGATE_SECRET_KEY: secretKey,
    OTPGATE_DISPATCH_CONCURRENCY: '0',
    OTPGATE_DEFAULT_PROVIDER: 'CustomGateway',
    OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify({ uri: 'not a url', api_key: gatewayKey }),
  };
  try {
    for (const [entry, args] of [['src/main.ts', []], ['src/cli.ts', ['serve']], ['src/cli.ts', ['migrate']]] as const) {
      const r = run(entry, [...args], env);
      const what = `${entry} ${args.join(' ')}`;
      assert.equal(r.code, CONFIG_ERROR_EXIT_CODE, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /^otpgate: invalid configuration:/, what);
      assert.match(r.stderr, /OTPGATE_PORT: must be a whole number from 0 to 65535/, what);
      assert.match(r.stderr, /OTPGATE_SECRET_KEY: must be a base64 encoding of 32 random bytes/, what);
      assert.match(r.stderr, /OTPGATE_DISPATCH_CONCURRENCY: must be a whole number from 1 to 1000/, what);
      assert.match(r.stderr, /OTPGATE_DEFAULT_PROVIDER_CONFIG: uri: /, what);
      assert.doesNotMatch(r.stderr + r.stdout, new RegExp(`${secretKey}|${gatewayKey}`), `${what} echoed a secret`);
      assert.doesNotMatch(r.stderr, /could not start|\n\s+at /, `${what}: a config error is not a start-up failure or a stack trace`);
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing created for a configuration that does not start');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('otpgate phone export|erase: a number\'s rows, then none; a malformed number is refused; a retention out of range exits 2 naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-cli-phone-'));
  const env = { OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}` };
  try {
    const tenant = JSON.parse(cli(['tenant', 'create', 'Acme'], env).stdout);
    const other = JSON.parse(cli(['tenant', 'create', 'Other'], env).stdout);
    for (const id of [tenant.id, other.id]) assert.equal(cli(['send-test', id, '+14155552671'], env).code, 0);
    const exported = cli(['phone', 'export', tenant.id, '+1 415 555 2671'], env);
    assert.equal(exported.code, 0, exported.stderr);
    const data = JSON.parse(exported.stdout);
    assert.equal(data.phone_number, '+14155552671');
    assert.equal(data.data.messages.length, 1);
    assert.ok(!exported.stdout.includes(other.id), "nothing of the other tenant");
    const erased = cli(['phone', 'erase', tenant.id, '+14155552671'], env);
    assert.equal(erased.code, 0, erased.stderr);
    assert.equal(JSON.parse(erased.stdout).erased.messages, 1);
    assert.equal(JSON.parse(cli(['phone', 'erase', tenant.id, '+14155552671'], env).stdout).total_rows, 0, 'a repeat erases nothing');
    assert.equal(JSON.parse(cli(['phone', 'export', other.id, '+14155552671'], env).stdout).data.messages.length, 1, "the other tenant's row stays");
    const bad = cli(['phone', 'erase', tenant.id, 'nope'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /phone\.invalid/);
    assert.equal(cli(['phone', 'forget', tenant.id, '+14155552671'], env).code, 2, 'usage');
    for (const [name, value] of [['OTPGATE_MESSAGE_RETENTION_DAYS', '0'], ['OTPGATE_CODE_RETENTION_DAYS', '366'], ['OTPGATE_AUDIT_RETENTION_DAYS', 'a year'], ['OTPGATE_PHONE_RETENTION_DAYS', '1.5']] as const) {
      const r = cli(['migrate'], { ...env, [name]: value });
      assert.equal(r.code, CONFIG_ERROR_EXIT_CODE, `${name}=${value}`);
      assert.match(r.stderr, new RegExp(`${name}: must be a whole number from 1 to`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('otpgate operator create|password|list: the password comes from the environment or stdin, never a flag, and is checked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-cli-'));
  const env = { OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'o.db')}` };
  const withStdin = (args: string[], input: string, extra: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: processEnv({ ...env, ...extra }), input, encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  try {
    const owner = withStdin(['operator', 'create', '--role', 'owner', '--email', 'Root@Example.com'], 'a long owner passphrase\n');
    assert.equal(owner.code, 0, owner.stderr);
    assert.deepEqual({ email: JSON.parse(owner.stdout).email, role: JSON.parse(owner.stdout).role }, { email: 'root@example.com', role: 'owner' });
    const weak = withStdin(['operator', 'create', '--role', 'admin', '--email', 'b@example.com'], '', { OTPGATE_OPERATOR_PASSWORD: 'Password1234' });
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /operator\.weak_password/);
    assert.doesNotMatch(weak.stderr + weak.stdout, /Password1234/);
    const role = withStdin(['operator', 'create', '--role', 'god', '--email', 'c@example.com'], 'a long enough passphrase');
    assert.match(role.stderr, /operator\.unknown_role/);
    const dup = withStdin(['operator', 'create', '--role', 'viewer', '--email', 'root@example.com'], 'a long enough passphrase');
    assert.match(dup.stderr, /operator\.email_taken/);
    const pw = withStdin(['operator', 'password', '--email', 'root@example.com'], 'another long passphrase');
    assert.equal(pw.code, 0, pw.stderr);
    const list = cli(['operator', 'list'], env);
    assert.deepEqual(JSON.parse(list.stdout).map((o: { email: string }) => o.email), ['root@example.com']);
    assert.doesNotMatch(list.stdout, /scrypt|passphrase/);
    assert.equal(cli(['operator', 'create', '--role', 'owner'], env).code, 2, 'no email: usage');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
