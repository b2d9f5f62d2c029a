import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { redisAvailable, testRedisUrl } from '../helpers/redis.js';
import { postgresSkipReason, waitFor } from '../postgres/support.js';
import { phoneNumber, startCluster, type Cluster } from './cluster.js';
import type { OtpgateProcess } from './node-process.js';

const skip = await postgresSkipReason('multi-node send caps');
const redisSkip = skip ? skip : (await redisAvailable()) ? false : `Redis at ${testRedisUrl} does not answer; start redis-server to run the two-node Redis caps`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SendAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * The hourly send caps across two real nodes on one PostgreSQL, under concurrent sends split
 * over both: counted in the database (per-IP; the per-phone case is in two-nodes.test.ts),
 * then with OTPGATE_REDIS_URL on both nodes (per-phone and per-IP counted in Redis, one Lua
 * reservation per send). Each case: exactly the cap is accepted, the rest is otp.rate_limited.
 * Tenants are fresh (random ids), so the Redis keys (default prefix `otpgate:`) are too.
 */
describe('hourly send caps across two nodes', { skip }, () => {
  let cluster: Cluster;
  let a: OtpgateProcess;
  let b: OtpgateProcess;

  before(async () => {
    cluster = await startCluster({ nodes: 2 });
    [a, b] = cluster.nodes as [OtpgateProcess, OtpgateProcess];
  });
  after(async () => {
    await cluster?.close();
  });

  const send = (node: OtpgateProcess, auth: string, phone: string, clientIp?: string): Promise<SendAnswer> =>
    fetch(`${node.url}/v1/otp/send`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ phone_number: phone, ...(clientIp ? { client_ip: clientIp } : {}) }),
      signal: AbortSignal.timeout(20_000),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  /** 40 concurrent sends from one client IP, each to its own phone, alternating between the nodes. */
  async function sendsFromOneIp(nodes: [OtpgateProcess, OtpgateProcess], cap: number, firstPhone: number): Promise<{ tenantId: string; results: SendAnswer[]; phones: string[] }> {
    const { tenantId, auth } = await cluster.createTenant(nodes[0], { max_sends_per_ip_per_hour: cap, max_sends_per_phone_per_hour: 100, resend_cooldown_seconds: 0 });
    const phones = Array.from({ length: 40 }, (_, i) => phoneNumber(firstPhone + i));
    const results = await Promise.all(phones.map((p, i) => send(nodes[i % 2]!, auth, p, '203.0.113.77')));
    return { tenantId, results, phones };
  }

  function assertExactlyCap(results: SendAnswer[], cap: number, who: RegExp): void {
    const accepted = results.filter((r) => r.status === 202);
    assert.equal(accepted.length, cap, JSON.stringify(results.map((r) => r.status)));
    for (const r of results) {
      if (r.status === 202) continue;
      assert.equal(r.status, 429, JSON.stringify(r.body));
      assert.equal(r.body['code'], 'otp.rate_limited');
      assert.match(String(r.body['detail']), who);
    }
  }

  /** Exactly `cap` SMS went out to these phones (none for a refused send, none twice). */
  async function assertDelivered(phones: string[], cap: number): Promise<void> {
    const count = () => phones.reduce((n, p) => n + cluster.gateway.to(p).length, 0);
    await waitFor(`${cap} SMS`, () => count() >= cap, 15_000);
    await sleep(300);
    assert.equal(count(), cap);
  }

  test('per client IP, counted in the database: exactly max_sends_per_ip_per_hour accepted', { timeout: 60_000 }, async () => {
    const cap = 5;
    const { results, phones } = await sendsFromOneIp([a, b], cap, 7000);
    assertExactlyCap(results, cap, /client IP has reached its limit of 5/);
    await assertDelivered(phones, cap);
  });

  describe('with OTPGATE_REDIS_URL on both nodes', { skip: redisSkip }, () => {
    let c: OtpgateProcess;
    let d: OtpgateProcess;
    let redis: Redis;
    const tenants: string[] = [];

    before(async () => {
      c = await cluster.addNode({ OTPGATE_REDIS_URL: testRedisUrl });
      d = await cluster.addNode({ OTPGATE_REDIS_URL: testRedisUrl });
      redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
    });
    after(async () => {
      for (const t of tenants) {
        const keys = await redis.keys(`otpgate:${t}:*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      redis?.disconnect();
    });

    test('per phone: exactly max_sends_per_phone_per_hour accepted of 40 concurrent sends, counted in Redis', { timeout: 60_000 }, async () => {
      const cap = 5;
      const { tenantId, auth } = await cluster.createTenant(c, { max_sends_per_phone_per_hour: cap, resend_cooldown_seconds: 0 });
      tenants.push(tenantId);
      const phone = phoneNumber(7100);
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => send(i % 2 === 0 ? c : d, auth, phone)));
      assertExactlyCap(results, cap, /phone has reached its limit of 5/);
      // The caps were counted in Redis (not in the database after a Redis failure).
      assert.equal(await redis.zcard(`otpgate:${tenantId}:phone:${phone}`), cap);
      await assertDelivered([phone], cap);
    });

    test('per client IP: exactly max_sends_per_ip_per_hour accepted, counted in Redis', { timeout: 60_000 }, async () => {
      const cap = 5;
      const { tenantId, results, phones } = await sendsFromOneIp([c, d], cap, 7200);
      tenants.push(tenantId);
      assertExactlyCap(results, cap, /client IP has reached its limit of 5/);
      assert.equal(await redis.zcard(`otpgate:${tenantId}:ip:203.0.113.77`), cap);
      await assertDelivered(phones, cap);
    });
  });
});
