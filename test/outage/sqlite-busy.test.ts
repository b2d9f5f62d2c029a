import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import SqliteDatabase from '../../src/store/sqlite-driver.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * SQLite's file held by another process for longer than busy_timeout (a backup tool, a
 * second otpgate on the same file): SQLITE_BUSY is answered 503 `store.unavailable` with
 * Retry-After, not a 500, and the next request after the lock goes works.
 */
describe('SQLite locked by another connection', () => {
  let t: TestApp;
  let auth: string;
  let basic: string;
  before(async () => {
    t = await createTestApp();
    const tenant = await t.createTenant({ resend_cooldown_seconds: 0 });
    auth = tenant.auth;
    basic = `Basic ${Buffer.from(`${tenant.keyId}:${tenant.apiKey}`).toString('base64')}`;
    // 5 s by default; short here so that the lock wait ends quickly.
    await sql`pragma busy_timeout = 50`.execute(t.deps.store.db);
  });
  after(async () => t.close());

  test('a send, a verify and a Twilio-compatible call answer 503 while the file is locked, and succeed once it is free', async () => {
    assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550100' } })).statusCode, 202);
    const other = new SqliteDatabase(t.dbUrl.slice('sqlite:'.length));
    try {
      other.exec('begin exclusive');
      const send = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550101' } });
      assert.equal(send.statusCode, 503, send.body);
      assert.equal(send.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(send.headers['retry-after'], '2');
      assert.equal(send.json().code, 'store.unavailable');
      assert.doesNotMatch(send.body, /SQLITE|sqlite|\.ts:\d+/, 'nothing internal in the answer');
      const verify = await t.call('POST', '/v1/otp/verify', { auth, body: { phone_number: '+14155550100', code: '000000' } });
      assert.equal(verify.statusCode, 503, verify.body);
      // The Twilio-compatible API answers in Twilio's form, with its 503 code.
      const service = await t.call('POST', '/v2/Services', { headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'FriendlyName=Locked' });
      assert.equal(service.statusCode, 503, service.body);
      assert.equal(service.json().code, 20503);
      assert.equal(service.headers['retry-after'], '2');
      other.exec('rollback');
    } finally {
      other.close();
    }
    const again = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550101' } });
    assert.equal(again.statusCode, 202, again.body);
    const service = await t.call('POST', '/v2/Services', { headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'FriendlyName=Free' });
    assert.equal(service.statusCode, 201, service.body);
    assert.ok(!t.logs.lines.some((l) => l.includes('unhandled error')), 'no 500 was logged');
    assert.equal(t.logs.lines.filter((l) => l.includes('requests are answered 503 store.unavailable')).length, 1, 'one line for the lot');
  });
});
