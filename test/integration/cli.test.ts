import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

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
    assert.equal(badEnv.code, 1);
    assert.match(badEnv.stderr, /OTPGATE_PORT/);
    assert.match(badEnv.stderr, /OTPGATE_ENV/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('production refuses to start without the admin and secret keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-prod-'));
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, OTPGATE_ENV: 'production', OTPGATE_DATA_DIR: dir, OTPGATE_ADMIN_KEY: '', OTPGATE_SECRET_KEY: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /OTPGATE_ADMIN_KEY: required in production/);
    assert.match(r.stderr, /OTPGATE_SECRET_KEY: required in production/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
