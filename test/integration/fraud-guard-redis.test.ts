import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { redisAvailable, redisScope, testRedisUrl } from '../helpers/redis.js';
import { quiet } from './fraud-guard-support.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const guard = (thresholds: Record<string, object> = {}) => ({ fraud_guard: { mode: 'enforce', prefix_digits: 3, thresholds: { ...quiet, ...thresholds } } });

/** UK mobile numbers of one range: prefix `+447400<range>` with prefix_digits 3. */
const gb = (suffix: number, range = '123') => `+447400${range}${String(suffix).padStart(3, '0')}`;

const send = (t: TestApp, auth: string, phone: string, extra: Record<string, unknown> = {}) =>
  t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone, ...extra } });

async function accepted(t: TestApp, auth: string, phone: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await send(t, auth, phone, extra);
  assert.equal(r.statusCode, 202, `${phone}: ${r.body}`);
  return r.json<{ challenge_id: string }>().challenge_id;
}

async function verify(t: TestApp, auth: string, phone: string, challengeId: string): Promise<void> {
  await t.drainOutbox();
  const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth });
  const code = /(\d{6})/.exec(inbox.json<{ items: Array<{ body: string }> }>().items[0]?.body ?? '')?.[1];
  assert.ok(code, `no code for ${phone}: ${inbox.body}`);
  const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: challengeId, code } });
  assert.equal(v.statusCode, 200, v.body);
}

async function counterRows(t: TestApp, tenantId: string): Promise<number> {
  const r = await t.deps.store.db.selectFrom('fraud_counters').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
  return Number(r.n);
}

async function fallbacks(t: TestApp): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await t.deps.metrics.fraudCounterFallbacks.get()).values) out[String(v.labels.op)] = v.value;
  return out;
}

interface StatsRow {
  sent: number;
  verified: number;
  segments: number;
  cost: number;
}

describe('fraud guard counters in Redis (OTPGATE_REDIS_URL)', { skip: !(await redisAvailable()) && 'Redis is not reachable' }, () => {
  // 09:30 UTC: an hour bucket starts at 09:00.
  const clock = createManualClock(Date.UTC(2026, 11, 1, 9, 30));
  const scope = redisScope();
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ clock, env: { OTPGATE_REDIS_URL: testRedisUrl }, redisKeyPrefix: scope.prefix });
  });
  after(async () => {
    await t.close();
    await scope.cleanup();
  });
  const hourKey = (tenantId: string, kind: 'fraud' | 'fraud-ip', at = clock.now()) => `${scope.prefix}${tenantId}:${kind}:${Math.floor(at / HOUR)}`;

  test('a send is counted in Redis (country, prefix, IP and its country), not in the fraud_counters table', async () => {
    const { tenantId, auth } = await t.createTenant({ ...guard(), sms_prices: { GB: 0.04, default: 0.01 } });
    await accepted(t, auth, gb(1), { client_ip: '203.0.113.9' });
    const hash = await scope.client.hgetall(hourKey(tenantId, 'fraud'));
    assert.deepEqual(hash, {
      's:c:GB': '1',
      'g:c:GB': '1',
      'm:c:GB': '40000',
      's:p:+447400123': '1',
      'g:p:+447400123': '1',
      'm:p:+447400123': '40000',
    });
    assert.equal(await scope.client.hget(hourKey(tenantId, 'fraud-ip'), 's:i:203.0.113.9'), '1');
    const countries = await scope.client.zrange(`${scope.prefix}${tenantId}:fraud-keys:x:203.0.113.9|`, '0', '-1', 'WITHSCORES');
    assert.deepEqual(countries, ['x:203.0.113.9|GB', String(Math.floor(clock.now() / HOUR) * HOUR)]);
    assert.equal(await counterRows(t, tenantId), 0, 'nothing counted in the database');

    // The keys expire after what is read from them: 31 days (the stats' 30 days, the
    // country's best day of 14), 26 h for the IP's (its 24-hour rules); timed from the hour.
    const ttl = await scope.client.pttl(hourKey(tenantId, 'fraud'));
    assert.ok(ttl > 31 * DAY - HOUR && ttl <= 31 * DAY, `pttl ${ttl}`);
    const ipTtl = await scope.client.pttl(hourKey(tenantId, 'fraud-ip'));
    assert.ok(ipTtl > 25 * HOUR && ipTtl <= 26 * HOUR, `pttl ${ipTtl}`);
    assert.deepEqual(await fallbacks(t), {});
  });

  test('a pumping run against one prefix is refused after the floor; other prefixes still get codes', async () => {
    const { tenantId, auth } = await t.createTenant(guard({ prefix_hour: { floor: 4, ratio: 0 } }));
    for (const n of [100, 300, 500, 700]) await accepted(t, auth, gb(n));
    const r = await send(t, auth, gb(900));
    assert.equal(r.statusCode, 403, r.body);
    const problem = r.json<{ code: string; rule: string; block_id: string }>();
    assert.equal(problem.code, 'fraud.blocked');
    assert.equal(problem.rule, 'prefix_hour');
    assert.equal(await scope.client.hget(hourKey(tenantId, 'fraud'), 's:p:+447400123'), '4', 'the refused send is not counted');
    const again = await send(t, auth, gb(950));
    assert.equal(again.json<{ block_id: string }>().block_id, problem.block_id);
    await accepted(t, auth, gb(100, '555'));
    assert.equal(await counterRows(t, tenantId), 0);
  });

  test('another node\'s sends counted in Redis trip this node\'s tripwire', async () => {
    const { tenantId, auth } = await t.createTenant(guard({ prefix_hour: { floor: 3, ratio: 0 } }));
    // Three unverified codes to +447400777, sent through another node earlier this hour.
    await scope.client.hincrby(hourKey(tenantId, 'fraud'), 's:p:+447400777', 3);
    const r = await send(t, auth, gb(1, '777'));
    assert.equal(r.statusCode, 403, r.body);
    assert.equal(r.json<{ rule: string }>().rule, 'prefix_hour');
    await accepted(t, auth, gb(1, '778'));
  });

  test('a verified code is counted in Redis in the hour of its send, and raises the threshold', async () => {
    const { tenantId, auth } = await t.createTenant(guard({ prefix_hour: { floor: 1, ratio: 1 } }));
    clock.set(Date.UTC(2026, 11, 2, 10, 59));
    const sentAt = clock.now();
    const first = await accepted(t, auth, gb(10));
    clock.advance(2 * 60_000); // verified at 11:01, in the next hour
    await verify(t, auth, gb(10), first);
    assert.equal(await scope.client.hget(hourKey(tenantId, 'fraud', sentAt), 'v:p:+447400123'), '1');
    assert.equal(await scope.client.hget(hourKey(tenantId, 'fraud', sentAt), 'v:c:GB'), '1');
    assert.equal(await scope.client.exists(hourKey(tenantId, 'fraud')), 0, 'nothing in the hour of the verification');
    // One unverified allowed (floor 1), and one more per verified code (ratio 1): the verified
    // code read back from Redis lets a second unverified code through, not a third.
    await accepted(t, auth, gb(20));
    const r = await send(t, auth, gb(30));
    assert.equal(r.statusCode, 403, r.body);
    assert.equal(r.json<{ rule: string }>().rule, 'prefix_hour');
    assert.equal(await counterRows(t, tenantId), 0);
  });

  test('GET /v1/fraud-guard/stats reports the counts kept in Redis', async () => {
    const { tenantId, auth } = await t.createTenant({ ...guard(), sms_prices: { GB: 0.05, default: 0.01 } });
    clock.set(Date.UTC(2026, 11, 3, 8, 10));
    const c1 = await accepted(t, auth, gb(1));
    await accepted(t, auth, gb(2));
    await verify(t, auth, gb(1), c1);
    clock.advance(3 * HOUR);
    await accepted(t, auth, gb(3, '456'));
    // A country only another node sent to, this hour.
    await scope.client.hincrby(hourKey(tenantId, 'fraud'), 's:c:DE', 7);
    await scope.client.hincrby(hourKey(tenantId, 'fraud'), 'v:c:DE', 5);
    const r = await t.call('GET', '/v1/fraud-guard/stats?window=24h', { auth });
    assert.equal(r.statusCode, 200, r.body);
    const stats = r.json<{ countries: Array<{ country: string } & StatsRow>; prefixes: Array<{ prefix: string } & StatsRow> }>();
    assert.deepEqual(
      stats.countries.map((c) => [c.country, c.sent, c.verified, c.segments, c.cost]),
      [
        ['DE', 7, 5, 0, 0],
        ['GB', 3, 1, 3, 0.15],
      ],
    );
    assert.deepEqual(
      stats.prefixes.map((p) => [p.prefix, p.sent, p.verified]),
      [
        ['+447400123', 2, 1],
        ['+447400456', 1, 0],
      ],
    );
    assert.equal(await counterRows(t, tenantId), 0);
  });
});

describe('fraud guard counters when Redis does not answer', () => {
  const clock = createManualClock(Date.UTC(2026, 11, 1, 9, 30));
  let t: TestApp;
  before(async () => {
    // Nothing listens on port 1: every Redis operation fails at once.
    t = await createTestApp({ clock, env: { OTPGATE_REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  after(async () => t.close());

  test('sends go on and are counted in the database; the tripwires and the stats read it there', async () => {
    // ip_countries max 2: the third send from the IP reads its countries (the first two cannot pass it).
    const { tenantId, auth } = await t.createTenant(guard({ prefix_hour: { floor: 3, ratio: 0 }, ip_countries: { max: 2 } }));
    for (const n of [100, 400, 700]) await accepted(t, auth, gb(n), { client_ip: '198.51.100.4' });
    assert.ok((await counterRows(t, tenantId)) > 0, 'counted in the database');
    const r = await send(t, auth, gb(900));
    assert.equal(r.statusCode, 403, r.body);
    assert.equal(r.json<{ rule: string }>().rule, 'prefix_hour');

    const stats = await t.call('GET', '/v1/fraud-guard/stats?window=24h', { auth });
    assert.equal(stats.statusCode, 200, stats.body);
    assert.deepEqual(stats.json<{ prefixes: Array<{ prefix: string; sent: number }> }>().prefixes.map((p) => [p.prefix, p.sent]), [['+447400123', 3]]);

    const f = await fallbacks(t);
    assert.equal(f.add, 3, 'each accepted send added in the database');
    assert.ok((f.read ?? 0) >= 4 && f.keys === 1 && f.totals === 1, JSON.stringify(f));
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /otpgate_fraud_counter_fallbacks_total\{op="add"\} 3/);
    const warnings = t.logs.lines.filter((l) => l.includes('fraud guard counters are kept in the database'));
    assert.equal(warnings.length, 1, 'one warning for the outage');
    assert.ok(!t.logs.text().includes('+447400123'), 'no number in the logs');
  });
});
