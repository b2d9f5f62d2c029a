import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { resolvePlatformProvider } from '../../src/deps.js';

const GOOD_SECRET = Buffer.alloc(32, 3).toString('base64');
const GOOD_ADMIN = 'adm_unit_0123456789abcdefghijklmnop';

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-config-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ConfigError loadConfig throws for `env`. */
function problemsOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('loadConfig accepted the configuration');
}

test('every bad setting is reported at once, schema and cross-setting checks alike, without echoing secrets', () => {
  withDir((dir) => {
    const err = problemsOf({
      OTPGATE_DATA_DIR: dir,
      OTPGATE_PORT: 'eighty',
      OTPGATE_LOG_LEVEL: 'loud',
      OTPGATE_SECRET_KEY: 'garbage-secret-value',
      OTPGATE_DEFAULT_PROVIDER: 'CustomGateway',
      OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify({ uri: 'not a url', api_key: 'gw-secret-api-key', colour: 'red' }),
    });
    const text = err.message;
    assert.match(text, /OTPGATE_PORT: must be a whole number from 0 to 65535/);
    assert.match(text, /OTPGATE_LOG_LEVEL: must be fatal, error, warn, info, debug, trace or silent/);
    assert.match(text, /OTPGATE_SECRET_KEY: must be a base64 encoding of 32 random bytes/);
    assert.match(text, /OTPGATE_DEFAULT_PROVIDER_CONFIG: uri: /);
    assert.match(text, /OTPGATE_DEFAULT_PROVIDER_CONFIG: .*colour/);
    assert.equal(err.problems.length, 5, text);
    assert.doesNotMatch(text, /garbage-secret-value|gw-secret-api-key/);
    // Nothing was generated for a configuration that does not start.
    assert.equal(existsSync(join(dir, 'admin-key')), false);
    assert.equal(existsSync(join(dir, 'secret-key')), false);
  });
});

test('production: both keys required, reported with the other problems', () => {
  withDir((dir) => {
    const err = problemsOf({ OTPGATE_ENV: 'production', OTPGATE_DATA_DIR: dir, OTPGATE_PORT: '70000', OTPGATE_DEFAULT_PROVIDER: 'Inbox' });
    assert.deepEqual(err.problems, [
      'OTPGATE_PORT: must be a whole number from 0 to 65535',
      'OTPGATE_ADMIN_KEY: required in production',
      'OTPGATE_SECRET_KEY: required in production',
      'OTPGATE_DEFAULT_PROVIDER: Inbox is for development only',
    ]);
  });
});

test('a bad key is reported as bad, not also as missing; a bad OTPGATE_ENV still lets the other checks run', () => {
  withDir((dir) => {
    const prod = problemsOf({ OTPGATE_ENV: 'production', OTPGATE_DATA_DIR: dir, OTPGATE_ADMIN_KEY: 'short', OTPGATE_SECRET_KEY: 'a:b,c' });
    assert.deepEqual(prod.problems, ['OTPGATE_ADMIN_KEY: must be at least 24 characters', 'OTPGATE_SECRET_KEY: entry 1 ("a"): the key must be a base64 encoding of 32 random bytes (e.g. `openssl rand -base64 32`)']);
    const staging = problemsOf({ OTPGATE_ENV: 'staging', OTPGATE_DATA_DIR: dir, OTPGATE_PORT: '1.5', OTPGATE_DEFAULT_PROVIDER: 'Carrier-Pigeon' });
    assert.deepEqual(staging.problems.slice(0, 2), ['OTPGATE_PORT: must be a whole number from 0 to 65535', 'OTPGATE_ENV: must be development or production']);
    assert.match(staging.problems[2] ?? '', /^OTPGATE_DEFAULT_PROVIDER: unknown provider kind \(one of Inbox, Twilio, /);
    assert.equal(staging.problems.length, 3);
  });
});

test('the Default provider: unknown kinds, "Default" itself, broken JSON, JSON without a kind', () => {
  withDir((dir) => {
    const base = { OTPGATE_DATA_DIR: dir, OTPGATE_ADMIN_KEY: GOOD_ADMIN, OTPGATE_SECRET_KEY: GOOD_SECRET };
    assert.match(problemsOf({ ...base, OTPGATE_DEFAULT_PROVIDER: 'Twillio' }).message, /OTPGATE_DEFAULT_PROVIDER: unknown provider kind "Twillio" \(one of .*Twilio/);
    assert.match(problemsOf({ ...base, OTPGATE_DEFAULT_PROVIDER: 'Default' }).message, /unknown provider kind "Default"/);
    const broken = problemsOf({ ...base, OTPGATE_DEFAULT_PROVIDER: 'CustomGateway', OTPGATE_DEFAULT_PROVIDER_CONFIG: '{"api_key": "gw-secret-api-key"' });
    assert.deepEqual(broken.problems, ['OTPGATE_DEFAULT_PROVIDER_CONFIG: not valid JSON']);
    assert.doesNotMatch(broken.message, /gw-secret-api-key/);
    assert.match(problemsOf({ ...base, OTPGATE_DEFAULT_PROVIDER_CONFIG: '{}' }).message, /OTPGATE_DEFAULT_PROVIDER_CONFIG: set, but OTPGATE_DEFAULT_PROVIDER is not/);
    // A credential pasted into the kind's variable is not echoed.
    assert.doesNotMatch(problemsOf({ ...base, OTPGATE_DEFAULT_PROVIDER: '{"api_key":"gw-secret-api-key"}' }).message, /gw-secret-api-key/);

    const ok = loadConfig({ ...base, OTPGATE_DEFAULT_PROVIDER: 'CustomGateway', OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify({ uri: 'https://gw.example.com/sms', api_key: 'k' }) });
    assert.deepEqual(resolvePlatformProvider(ok), { kind: 'CustomGateway', config: { uri: 'https://gw.example.com/sms', api_key: 'k' }, explicit: true });
    assert.deepEqual(resolvePlatformProvider(loadConfig(base)), { kind: 'Inbox', config: {}, explicit: false });
    assert.equal(resolvePlatformProvider(loadConfig({ ...base, OTPGATE_ENV: 'production' })), null);
  });
});

test('development: the keys are generated once into the data folder and reused on later starts', () => {
  withDir((dir) => {
    const first = loadConfig({ OTPGATE_DATA_DIR: dir });
    const adminFile = join(dir, 'admin-key');
    const secretFile = join(dir, 'secret-key');
    const files = { admin: readFileSync(adminFile, 'utf8'), secret: readFileSync(secretFile, 'utf8') };
    assert.equal(files.admin.trim(), first.adminKey);
    assert.equal(files.secret.trim(), first.secretKey);
    assert.match(first.adminKey, /^adm_[A-Za-z0-9_-]{32}$/);
    assert.equal(Buffer.from(first.secretKey, 'base64').length, 32);
    assert.equal(first.generatedAdminKey, true);
    assert.equal(statSync(adminFile).mode & 0o777, 0o600);
    assert.equal(statSync(secretFile).mode & 0o777, 0o600);
    assert.ok(Object.isFrozen(first));

    const second = loadConfig({ OTPGATE_DATA_DIR: dir });
    assert.equal(second.adminKey, first.adminKey);
    assert.equal(second.secretKey, first.secretKey);
    assert.equal(second.generatedAdminKey, true);
    assert.deepEqual({ admin: readFileSync(adminFile, 'utf8'), secret: readFileSync(secretFile, 'utf8') }, files);

    // Keys in the environment win, and the files are left as they are.
    const explicit = loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_ADMIN_KEY: GOOD_ADMIN, OTPGATE_SECRET_KEY: GOOD_SECRET });
    assert.equal(explicit.adminKey, GOOD_ADMIN);
    assert.equal(explicit.secretKey, GOOD_SECRET);
    assert.equal(explicit.generatedAdminKey, false);
    assert.deepEqual({ admin: readFileSync(adminFile, 'utf8'), secret: readFileSync(secretFile, 'utf8') }, files);
  });
});

test('development: a damaged key file in the data folder is reported with the other problems, its content never', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'admin-key'), 'tiny-admin\n');
    writeFileSync(join(dir, 'secret-key'), 'not-a-key-at-all\n');
    const err = problemsOf({ OTPGATE_DATA_DIR: dir, OTPGATE_PORT: '-1' });
    assert.equal(err.problems.length, 3, err.message);
    assert.match(err.message, /OTPGATE_PORT: /);
    assert.ok(err.problems.some((p) => p.startsWith(`${join(dir, 'admin-key')}: `)), err.message);
    assert.ok(err.problems.some((p) => p.startsWith(`${join(dir, 'secret-key')}: must be a base64 encoding`)), err.message);
    assert.doesNotMatch(err.message, /tiny-admin|not-a-key-at-all/);
    // Left alone: sealed values depend on the secret key, so it is never replaced behind the operator's back.
    assert.equal(readFileSync(join(dir, 'secret-key'), 'utf8'), 'not-a-key-at-all\n');
  });
});

test('production does not read or write the data folder', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'secret-key'), 'not-a-key-at-all\n');
    const config = loadConfig({ OTPGATE_ENV: 'production', OTPGATE_DATA_DIR: dir, OTPGATE_ADMIN_KEY: GOOD_ADMIN, OTPGATE_SECRET_KEY: GOOD_SECRET });
    assert.equal(config.secretKey, GOOD_SECRET);
    assert.equal(existsSync(join(dir, 'admin-key')), false);
  });
});

test('a dispatch lease shorter than a provider call (plus the margin) is refused, with the other problems', () => {
  withDir((dir) => {
    const base = { OTPGATE_DATA_DIR: dir, OTPGATE_ADMIN_KEY: GOOD_ADMIN, OTPGATE_SECRET_KEY: GOOD_SECRET };
    const err = problemsOf({ ...base, OTPGATE_DISPATCH_LEASE_MS: '10000', OTPGATE_PROVIDER_TIMEOUT_MS: '10000', OTPGATE_PORT: 'x' });
    assert.match(err.message, /OTPGATE_DISPATCH_LEASE_MS: must be at least OTPGATE_PROVIDER_TIMEOUT_MS \+ 500 ms \(10500\)/);
    assert.equal(err.problems.length, 2, err.message);
    // Against the default provider timeout (10 s) too.
    assert.match(problemsOf({ ...base, OTPGATE_DISPATCH_LEASE_MS: '5000' }).message, /\(10500\)/);
    assert.equal(loadConfig({ ...base, OTPGATE_DISPATCH_LEASE_MS: '2000', OTPGATE_PROVIDER_TIMEOUT_MS: '1500' }).dispatchLeaseMs, 2000);
    // A bad value of either is reported as itself, not also as this.
    assert.equal(problemsOf({ ...base, OTPGATE_DISPATCH_LEASE_MS: 'soon' }).problems.length, 1);
  });
});
