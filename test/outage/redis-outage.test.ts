import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import type { RedisBreaker } from '../../src/store/redis-breaker.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { privateRedisSkipReason, startPrivateRedis, type PrivateRedis } from '../helpers/private-servers.js';
import { waitFor } from '../postgres/support.js';

/**
 * Redis (OTPGATE_REDIS_URL: the hourly send caps and the fraud guard's counters) paused with
 * SIGSTOP and killed, on a redis-server the suite starts itself: sends keep being accepted,
 * counted in the database; after the first timeout or refusal no send calls Redis until the
 * pause (1 s, doubling) has run out on the injected clock; Redis is used again once it is
 * back. Counted by the breaker's call statistics, never by timing.
 */
const skip = privateRedisSkipReason();

describe('Redis outages (a private redis-server)', { skip, timeout: 120_000 }, () => {
  const clock = createManualClock(Date.UTC(2026, 11, 1, 9));
  let redis: PrivateRedis;
  let t: TestApp;
  let auth: string;
  let breaker: RedisBreaker;
  let seq = 0;

  // New numbers throughout, so that no cap or cooldown refuses a send.
  const send = async () => {
    const phone = `+1415555${String(2000 + seq++).padStart(4, '0')}`;
    const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone, client_ip: '203.0.113.9' } });
    assert.equal(r.statusCode, 202, r.body);
    return phone;
  };
  const attempts = () => breaker.stats.attempts;
  const up = async () => (await t.deps.metrics.redisUp.get()).values[0]?.value;

  before(async () => {
    redis = await startPrivateRedis();
    t = await createTestApp({ clock, env: { OTPGATE_REDIS_URL: redis.url }, redisKeyPrefix: 'outage:' });
    // The fraud guard on (record_only: it counts, never refuses), so both Redis users are exercised.
    auth = (await t.createTenant({ resend_cooldown_seconds: 0, max_sends_per_ip_per_hour: 10_000, fraud_guard: { mode: 'record_only' } })).auth;
    breaker = t.deps.redisBreaker!;
  });
  after(async () => {
    await t?.close();
    await redis?.destroy();
  });

  test('with Redis answering, every send calls it', async () => {
    const before = attempts();
    await send();
    assert.ok(attempts() > before, 'Redis was called');
    assert.equal(breaker.stats.skipped, 0);
    assert.equal(await up(), 1);
  });

  test('paused (SIGSTOP): one send waits the deadline, the next ones skip Redis; the pause grows, and ends when Redis answers', async () => {
    redis.signal('SIGSTOP');
    await send();
    assert.equal(breaker.up, false, 'the first timeout pauses Redis out');
    assert.equal(await up(), 0);
    const afterFirst = attempts();
    for (let i = 0; i < 10; i++) await send();
    assert.equal(attempts(), afterFirst, 'no send called Redis during the pause');

    // The 1 s pause runs out: one send tries (and waits its deadline), the pause doubles to 2 s.
    clock.advance(1000);
    await send();
    assert.equal(attempts(), afterFirst + 1, 'one trial');
    for (let i = 0; i < 5; i++) await send();
    clock.advance(1000);
    await send();
    assert.equal(attempts(), afterFirst + 1, 'still paused 1 s later: the pause grew to 2 s');

    redis.signal('SIGCONT');
    clock.advance(1000);
    await send();
    assert.equal(breaker.up, true, 'the trial after the pause found Redis back');
    assert.equal(await up(), 1);
    const back = attempts();
    await send();
    assert.ok(attempts() > back, 'sends call Redis again');
  });

  test('killed: sends go on without calling Redis, and use it again once it is restarted', async () => {
    await redis.kill();
    await send();
    await waitFor('the breaker to open', () => !breaker.up);
    const afterFirst = attempts();
    for (let i = 0; i < 10; i++) await send();
    assert.equal(attempts(), afterFirst, 'no send called Redis while it was down');

    await redis.start();
    // The client reconnects on its own (within 2 s); each round lets a trial go, past the longest pause.
    await waitFor('Redis to be used again', async () => {
      clock.advance(31_000);
      await send();
      return breaker.up;
    }, 15_000, 100);
    const back = attempts();
    const phone = await send();
    assert.ok(attempts() > back, 'sends call Redis again');
    assert.ok(phone);
  });

  test('the switch was logged once each way per outage, not per send', () => {
    const down = t.logs.lines.filter((l) => l.includes('Redis is not answering')).length;
    const again = t.logs.lines.filter((l) => l.includes('Redis answers again')).length;
    assert.equal(down, 2, t.logs.text().slice(-2000));
    assert.equal(again, 2);
  });
});
