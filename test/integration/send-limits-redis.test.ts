import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { redisAvailable, redisScope, testRedisUrl } from '../helpers/redis.js';

const HOUR = 3_600_000;
const send = (t: TestApp, auth: string, body: Record<string, unknown>) => t.call('POST', '/v1/otp/send', { auth, body });
const fallbacks = async (t: TestApp) => (await t.deps.metrics.sendLimitFallbacks.get()).values[0]?.value ?? 0;

describe('hourly send caps in Redis (OTPGATE_REDIS_URL)', { skip: !(await redisAvailable()) && 'Redis is not reachable' }, () => {
  const clock = createManualClock(Date.UTC(2026, 11, 1, 9));
  const scope = redisScope();
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ clock, env: { OTPGATE_REDIS_URL: testRedisUrl }, redisKeyPrefix: scope.prefix });
  });
  after(async () => {
    await t.close();
    await scope.cleanup();
  });

  test('the per-phone cap is counted in Redis: each send takes a slot, a full window answers 429 with Retry-After', async () => {
    const { tenantId, auth } = await t.createTenant({ resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 2 });
    const key = `${scope.prefix}${tenantId}:phone:+14155552671`;
    assert.equal((await send(t, auth, { phone_number: '+14155552671' })).statusCode, 202);
    assert.equal(await scope.client.zcard(key), 1);
    clock.advance(60_000);
    assert.equal((await send(t, auth, { phone_number: '+14155552671', purpose: 'mfa' })).statusCode, 202);
    assert.equal(await scope.client.zcard(key), 2);
    const capped = await send(t, auth, { phone_number: '+14155552671' });
    assert.equal(capped.statusCode, 429);
    assert.equal(capped.json().code, 'otp.rate_limited');
    // The first send frees its slot an hour after it was made: 59 minutes from now.
    assert.equal(capped.headers['retry-after'], String((HOUR - 60_000) / 1000));
    assert.equal(await scope.client.zcard(key), 2, 'a refused send takes no slot');
    // The key expires with the window, so Redis does not fill up with old phones.
    const ttl = await scope.client.pttl(key);
    assert.ok(ttl > 0 && ttl <= HOUR, `pttl ${ttl}`);
    clock.advance(HOUR - 60_000 + 1);
    assert.equal((await send(t, auth, { phone_number: '+14155552671' })).statusCode, 202);
    assert.equal(await fallbacks(t), 0);
  });

  test('an erasure drops the number’s window from Redis (its key names the number); another tenant’s stays', async () => {
    const one = await t.createTenant({ resend_cooldown_seconds: 0 });
    const two = await t.createTenant({ resend_cooldown_seconds: 0 });
    const phone = '+14155550188';
    for (const { auth } of [one, one, two]) assert.equal((await send(t, auth, { phone_number: phone, client_ip: '203.0.113.9' })).statusCode, 202);
    const keyOf = (tenantId: string) => `${scope.prefix}${tenantId}:phone:${phone}`;
    assert.equal(await scope.client.zcard(keyOf(one.tenantId)), 2);
    const erased = await t.call('POST', '/v1/phones/erase', { auth: one.auth, body: { phone_number: phone } });
    assert.equal(erased.statusCode, 200, erased.body);
    assert.equal(await scope.client.exists(keyOf(one.tenantId)), 0, 'the erased number’s window is gone');
    assert.equal(await scope.client.zcard(keyOf(two.tenantId)), 1, 'the other tenant’s window is kept');
    assert.equal(await scope.client.zcard(`${scope.prefix}${one.tenantId}:ip:203.0.113.9`), 2, 'the IP’s window names no number and stays');
    assert.equal((await t.call('POST', '/v1/phones/erase', { auth: one.auth, body: { phone_number: phone } })).json().total_rows, 0, 'a repeat finds nothing');
    assert.ok(!t.logs.text().includes('did not answer'), t.logs.text());
  });

  test('Redis decides, not the database: a window filled in Redis refuses a phone the database has never seen', async () => {
    const { tenantId, auth } = await t.createTenant({ max_sends_per_phone_per_hour: 3 });
    const key = `${scope.prefix}${tenantId}:phone:+14155550177`;
    const now = clock.now();
    // Another node's three sends, made ten minutes ago.
    await scope.client.zadd(key, now - 600_000, 'chl_a', now - 600_000, 'chl_b', now - 600_000, 'chl_c');
    const r = await send(t, auth, { phone_number: '+14155550177' });
    assert.equal(r.statusCode, 429);
    assert.equal(r.json().code, 'otp.rate_limited');
    assert.equal(r.headers['retry-after'], String((HOUR - 600_000) / 1000));
    const list = await t.call('GET', '/v1/messages?phone_number=%2B14155550177', { auth });
    assert.equal(list.json().items.length, 0, 'nothing was enqueued');
  });

  test('the per-IP cap is counted in Redis too, in the same atomic step', async () => {
    const { tenantId, auth } = await t.createTenant({ max_sends_per_ip_per_hour: 2, resend_cooldown_seconds: 0 });
    for (const p of ['+14155550201', '+14155550202']) {
      assert.equal((await send(t, auth, { phone_number: p, client_ip: '203.0.113.7' })).statusCode, 202);
    }
    const r = await send(t, auth, { phone_number: '+14155550203', client_ip: '203.0.113.7' });
    assert.equal(r.statusCode, 429);
    assert.match(r.json().detail, /client IP/);
    // Refused on the IP window: the phone window took nothing either.
    assert.equal(await scope.client.zcard(`${scope.prefix}${tenantId}:phone:+14155550203`), 0);
    assert.equal(await scope.client.zcard(`${scope.prefix}${tenantId}:ip:203.0.113.7`), 2);
    assert.equal((await send(t, auth, { phone_number: '+14155550203', client_ip: '203.0.113.8' })).statusCode, 202);
  });

  test('a send refused after its reservation (resend cooldown) gives the slot back', async () => {
    const { tenantId, auth } = await t.createTenant({ resend_cooldown_seconds: 30, max_sends_per_phone_per_hour: 2 });
    const key = `${scope.prefix}${tenantId}:phone:+14155550301`;
    assert.equal((await send(t, auth, { phone_number: '+14155550301' })).statusCode, 202);
    const cool = await send(t, auth, { phone_number: '+14155550301' });
    assert.equal(cool.json().code, 'otp.resend_cooldown');
    assert.equal(await scope.client.zcard(key), 1);
    clock.advance(31_000);
    assert.equal((await send(t, auth, { phone_number: '+14155550301' })).statusCode, 202);
    clock.advance(31_000);
    assert.equal((await send(t, auth, { phone_number: '+14155550301' })).json().code, 'otp.rate_limited');
  });

  test('test numbers take no slot', async () => {
    const { tenantId, auth } = await t.createTenant({
      max_sends_per_phone_per_hour: 1,
      resend_cooldown_seconds: 0,
      test_numbers: [{ phone_number: '+14155550999', code: '123456' }],
    });
    for (let i = 0; i < 3; i++) assert.equal((await send(t, auth, { phone_number: '+14155550999' })).statusCode, 202);
    assert.equal(await scope.client.exists(`${scope.prefix}${tenantId}:phone:+14155550999`), 0);
  });
});

describe('hourly send caps when Redis does not answer', () => {
  const clock = createManualClock(Date.UTC(2026, 11, 1, 9));
  let t: TestApp;
  before(async () => {
    // Nothing listens on port 1: every reservation fails at once.
    t = await createTestApp({ clock, env: { OTPGATE_REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  after(async () => t.close());

  test('sends go on, and the caps are counted in the database instead (metric and one warning)', async () => {
    const { auth } = await t.createTenant({ resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 2 });
    assert.equal((await send(t, auth, { phone_number: '+14155552671' })).statusCode, 202);
    assert.equal((await send(t, auth, { phone_number: '+14155552671' })).statusCode, 202);
    const capped = await send(t, auth, { phone_number: '+14155552671' });
    assert.equal(capped.statusCode, 429);
    assert.equal(capped.json().code, 'otp.rate_limited');
    assert.equal(await fallbacks(t), 3);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /otpgate_send_limit_fallbacks_total 3/);
    assert.ok(t.logs.lines.some((l) => l.includes('counted in the database')), 'a warning says so');
    assert.ok(!t.logs.text().includes('+14155552671'), 'the warning names no phone');
  });

  test('an erasure is answered, and a warning says the number’s window in Redis stays until it expires', async () => {
    const { auth } = await t.createTenant({ resend_cooldown_seconds: 0 });
    assert.equal((await send(t, auth, { phone_number: '+14155552672' })).statusCode, 202);
    const erased = await t.call('POST', '/v1/phones/erase', { auth, body: { phone_number: '+14155552672' } });
    assert.equal(erased.statusCode, 200, erased.body);
    assert.equal(erased.json().erased.challenges, 1);
    assert.ok(t.logs.lines.some((l) => l.includes('did not answer') && l.includes('expires within the hour')), t.logs.text());
    assert.ok(!t.logs.text().includes('4155552672'), 'the warning names no phone');
  });
});
