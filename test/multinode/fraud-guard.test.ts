import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { redisAvailable, testRedisUrl } from '../helpers/redis.js';
import { postgresSkipReason, waitFor, withPg } from '../postgres/support.js';
import { codeIn, phoneNumber, startCluster, type Cluster, type HttpAnswer } from './cluster.js';
import type { OtpgateProcess } from './node-process.js';
import { quiet } from '../integration/fraud-guard-support.js';

const skip = await postgresSkipReason('multi-node fraud guard');
const redisSkip = skip ? skip : (await redisAvailable()) ? false : `Redis at ${testRedisUrl} does not answer; start redis-server to run the two-node Redis counters`;

/** Every tripwire out of the way except the prefix's hourly floor. */
const guard = (floor: number) => ({
  fraud_guard: {
    mode: 'enforce',
    prefix_digits: 3,
    thresholds: { ...quiet, prefix_hour: { floor, ratio: 0 } },
  },
});
/** phoneNumber(i) for i < 1000 is +12025551xxx: one prefix (+12025551) with prefix_digits 3. */
const PREFIX = '+12025551';

/**
 * The fraud guard across two real nodes on one PostgreSQL: a block made through one node
 * refuses on the other at once, and a lift through the other ends it for both. First with
 * the counters in the database, then with OTPGATE_REDIS_URL on both nodes (the counters in
 * Redis, shared: sends split over both nodes reach the floor together). Node clocks are
 * real; a prefix's sliding hour weighs the previous hour's bucket at almost 1 just after the
 * hour turns, so the counts hold if the test runs across it.
 */
describe('fraud guard across two nodes', { skip }, () => {
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

  const send = (node: OtpgateProcess, auth: string, phone: string): Promise<HttpAnswer> => cluster.call(node, 'POST', '/v1/otp/send', auth, { phone_number: phone });

  function assertBlocked(r: HttpAnswer, blockId?: string): string {
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body['code'], 'fraud.blocked');
    assert.equal(r.body['rule'], 'prefix_hour');
    if (blockId !== undefined) assert.equal(r.body['block_id'], blockId, 'the same block refuses on both nodes');
    return r.body['block_id'] as string;
  }

  async function counterRows(tenantId: string): Promise<number> {
    return withPg(cluster.dbUrl, async (c) => Number((await c.query<{ n: string }>('select count(*) as n from fraud_counters where tenant_id = $1', [tenantId])).rows[0]!.n));
  }

  /**
   * For a tenant created with guard(floor): `floor` sends to one prefix, the i-th through
   * `through(i)`, all accepted; the next one through `first` is blocked, and a send through
   * `second` is refused by that block at once. A verified code brings the prefix under its
   * floor again, but the block still refuses until it is lifted through `second`; then
   * `first` accepts again.
   */
  async function blockOnOneLiftOnTheOther(auth: string, opts: { first: OtpgateProcess; second: OtpgateProcess; through(i: number): OtpgateProcess; floor: number; phones: number }): Promise<void> {
    const { first, second, floor } = opts;
    // Numbers of this run only (the gateway keeps every run's deliveries), all under PREFIX.
    const number = (i: number) => phoneNumber(opts.phones + i);
    const sent: Array<{ phone: string; challengeId: string }> = [];
    for (let i = 0; i < floor; i++) {
      const phone = number(10 * i);
      const r = await send(opts.through(i), auth, phone);
      assert.equal(r.status, 202, `send ${i + 1} of ${floor}: ${JSON.stringify(r.body)}`);
      sent.push({ phone, challengeId: r.body['challenge_id'] as string });
    }
    const blockId = assertBlocked(await send(first, auth, number(101)));
    assertBlocked(await send(second, auth, number(102)), blockId);
    const listed = await cluster.call(second, 'GET', '/v1/fraud-guard/blocks', auth);
    assert.deepEqual((listed.body['items'] as Array<{ id: string; key: string }>).map((d) => [d.id, d.key]), [[blockId, PREFIX]]);

    // The first code is verified through the other node: one unverified code fewer.
    const { phone, challengeId } = sent[0]!;
    await waitFor('the first SMS', () => cluster.gateway.to(phone).length === 1, 15_000);
    const verified = await cluster.call(second, 'POST', '/v1/otp/verify', auth, { challenge_id: challengeId, code: codeIn(cluster.gateway.to(phone)[0]!.message) });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assertBlocked(await send(first, auth, number(103)), blockId);

    const lifted = await cluster.call(second, 'DELETE', `/v1/fraud-guard/blocks/${blockId}`, auth);
    assert.equal(lifted.status, 204, JSON.stringify(lifted.body));
    assert.deepEqual((await cluster.call(first, 'GET', '/v1/fraud-guard/blocks', auth)).body['items'], []);
    const again = await send(first, auth, number(104));
    assert.equal(again.status, 202, JSON.stringify(again.body));
  }

  test('counters in the database: a block made through node A refuses on node B; lifted through B, A accepts again', { timeout: 60_000 }, async () => {
    const { tenantId, auth } = await cluster.createTenant(a, guard(3));
    await blockOnOneLiftOnTheOther(auth, { first: a, second: b, through: () => a, floor: 3, phones: 100 });
    assert.ok((await counterRows(tenantId)) > 0, 'counted in the database');
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

    /** The tenant's counts of one field of a key over every hour hash it has in Redis. */
    async function inRedis(tenantId: string, field: string): Promise<number> {
      let n = 0;
      for (const key of await redis.keys(`otpgate:${tenantId}:fraud:*`)) n += Number((await redis.hget(key, field)) ?? 0);
      return n;
    }

    test('counters in Redis: sends alternating between the nodes reach the floor together; the block and its lift hold on both', { timeout: 60_000 }, async () => {
      const floor = 4;
      const { tenantId, auth } = await cluster.createTenant(c, guard(floor));
      tenants.push(tenantId);
      await blockOnOneLiftOnTheOther(auth, { first: c, second: d, through: (i) => (i % 2 === 0 ? c : d), floor, phones: 500 });
      // floor sends before the block and one after the lift; the verified one is counted too.
      assert.equal(await inRedis(tenantId, `s:p:${PREFIX}`), floor + 1);
      assert.equal(await inRedis(tenantId, `v:p:${PREFIX}`), 1);
      assert.equal(await inRedis(tenantId, 's:c:US'), floor + 1);
      assert.equal(await counterRows(tenantId), 0, 'nothing counted in the database');
      for (const node of [c, d]) {
        const metrics = await fetch(`${node.url}/metrics`).then((r) => r.text());
        assert.doesNotMatch(metrics, /otpgate_fraud_counter_fallbacks_total\{/, 'Redis answered every operation');
      }
    });
  });
});
