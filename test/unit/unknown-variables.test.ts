import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { levenshtein, nearestSetting, unknownVariables } from '../../src/config/unknown-variables.js';

test('levenshtein: insertions, deletions, substitutions', () => {
  assert.equal(levenshtein('', ''), 0);
  assert.equal(levenshtein('PORT', 'PORT'), 0);
  assert.equal(levenshtein('PROT', 'PORT'), 2);
  assert.equal(levenshtein('kitten', 'sitting'), 3);
  assert.equal(levenshtein('', 'abc'), 3);
  assert.equal(levenshtein('abc', ''), 3);
});

test('the nearest setting of common misspellings', () => {
  const cases: [string, string][] = [
    ['OTPGATE_PROT', 'OTPGATE_PORT'],
    ['OTPGATE_DATABSE_URL', 'OTPGATE_DATABASE_URL'],
    ['OTPGATE_DATABASE', 'OTPGATE_DATABASE_URL'],
    ['OTPGATE_SECRET', 'OTPGATE_SECRET_KEY'],
    ['OTPGATE_LOGLEVEL', 'OTPGATE_LOG_LEVEL'],
    ['OTPGATE_PUBLIC_URI', 'OTPGATE_PUBLIC_URL'],
    ['OTPGATE_PG_POOL', 'OTPGATE_PG_POOL_SIZE'],
    ['OTPGATE_MESSAGES_RETENTION_DAYS', 'OTPGATE_MESSAGE_RETENTION_DAYS'],
  ];
  for (const [typo, setting] of cases) assert.equal(nearestSetting(typo), setting, typo);
});

test('unknown variables: settings, the tooling\'s variables and other prefixes are not reported; the rest sorted, with the nearest', () => {
  const found = unknownVariables({
    OTPGATE_PORT: '1',
    OTPGATE_TEST_PG_URL: 'x',
    OTPGATE_TEST_ANYTHING: 'x',
    OTPGATE_CHROMIUM: 'x',
    OTPGATE_BENCH_PG_URL: 'x',
    PORT: '1',
    OTPGATE_ENV_NAME: 'x',
    OTPGATE_PROT: '1',
  });
  assert.deepEqual(found, [
    { name: 'OTPGATE_ENV_NAME', nearest: 'OTPGATE_ENV' },
    { name: 'OTPGATE_PROT', nearest: 'OTPGATE_PORT' },
  ]);
});

test('loadConfig: an unknown variable is a warning in development (on the config) and a problem in production, never with its value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-unknown-unit-'));
  try {
    const dev = loadConfig({ OTPGATE_DATA_DIR: dir, OTPGATE_DATABASE_URL: 'sqlite::memory:', OTPGATE_SECRT_KEY: 'hunter2-hunter2' });
    assert.deepEqual(dev.unknownVariables, [{ name: 'OTPGATE_SECRT_KEY', nearest: 'OTPGATE_SECRET_KEY' }]);
    const prod = {
      OTPGATE_ENV: 'production',
      OTPGATE_ADMIN_KEY: 'adm_test_0123456789abcdefghijklmnop',
      OTPGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      OTPGATE_DATABASE_URL: 'sqlite::memory:',
      OTPGATE_SECRT_KEY: 'hunter2-hunter2',
    };
    assert.throws(
      () => loadConfig(prod),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, ['OTPGATE_SECRT_KEY: is not an otpgate setting; did you mean OTPGATE_SECRET_KEY? (unknown variables are refused in production)']);
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      },
    );
    assert.deepEqual(loadConfig({ ...prod, OTPGATE_SECRT_KEY: undefined }).unknownVariables, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
