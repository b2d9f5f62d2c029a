import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postgresSkipReason, waitFor, withPg } from '../postgres/support.js';
import { mapLimit, phoneNumber, startCluster, type Cluster } from './cluster.js';
import type { OtpgateProcess } from './node-process.js';

const skip = await postgresSkipReason('multi-node SIGKILL');

describe('a node killed with SIGKILL mid-dispatch loses nothing', { skip }, () => {
  let cluster: Cluster;
  let a: OtpgateProcess;

  before(async () => {
    // A slow gateway (300 ms per message) keeps deliveries in flight long enough to kill a node
    // in the middle; a 2 s lease lets the survivor take the dead node's claims soon.
    cluster = await startCluster({
      nodes: 1,
      gatewayDelayMs: 300,
      env: { OTPGATE_DISPATCH_LEASE_MS: '2000', OTPGATE_PROVIDER_TIMEOUT_MS: '1500', OTPGATE_DISPATCH_CONCURRENCY: '32' },
    });
    a = cluster.nodes[0]!;
  });
  after(async () => {
    await cluster?.close();
  });

  test('the other node delivers every message the dead one had claimed, after the lease', { timeout: 90_000 }, async () => {
    // B dispatches little at a time, so most of the batch is claimed by A when it dies.
    const b = await cluster.addNode({ OTPGATE_DISPATCH_CONCURRENCY: '4' });
    const { auth } = await cluster.createTenant(a, { max_sends_per_phone_per_hour: 100_000 });
    const N = 60;
    const phones = Array.from({ length: N }, (_, i) => phoneNumber(7000 + i));
    const answers = await mapLimit(phones, 20, (phone) =>
      cluster.call(a, 'POST', '/v1/otp/send', auth, { phone_number: phone }),
    );
    assert.deepEqual(answers.filter((r) => r.status !== 202), []);

    // Wait until A is mid-dispatch (its first batch reached the gateway), then kill it at once:
    // its deliveries answer 300 ms after they arrive, and a query first could outlast that.
    await waitFor('deliveries in flight', () => cluster.gateway.deliveries.length >= 20, 10_000, 5);
    await a.kill();
    const killedAt = Date.now();
    // The leases taken before the kill: each ends at most one lease (2 s) after it, and one a
    // node takes after the kill ends later.
    const leased = await withPg(cluster.dbUrl, async (c) =>
      (
        await c.query<{ phone: string; lease_until: string }>(`select to_phone as phone, lease_until from messages where status = 'sending' and lease_until <= $1`, [
          killedAt + 2000,
        ])
      ).rows,
    );
    assert.ok(leased.length >= 1, 'messages were leased at the time of the kill');

    await waitFor(`all ${N} messages sent`, async () => {
      const rows = await withPg(cluster.dbUrl, async (c) => (await c.query<{ n: string }>(`select count(*) as n from messages where status = 'sent'`)).rows);
      return Number(rows[0]!.n) === N;
    }, 60_000, 200);

    // Every phone got its code (at least once: a message A handed to the gateway just before
    // dying is sent again, as at-least-once delivery says).
    for (const p of phones) assert.ok(cluster.gateway.to(p).some((d) => d.completed), `${p} got its SMS`);
    const cutShort = cluster.gateway.deliveries.filter((d) => !d.completed);
    assert.ok(cutShort.length > 0, 'some deliveries were cut short by the kill');
    // Those were delivered again by B, after the lease ran out.
    for (const d of cutShort) {
      const redelivered = cluster.gateway.to(d.phone).filter((x) => x.completed);
      assert.ok(redelivered.length >= 1 && redelivered.every((x) => x.receivedAt >= killedAt), `${d.phone} redelivered after the kill`);
    }
    // …and not before the lease they held at the time of the kill had run out.
    const leaseOf = new Map(leased.map((r) => [r.phone, Number(r.lease_until)]));
    for (const d of cutShort) {
      const until = leaseOf.get(d.phone);
      if (until === undefined) continue; // claimed in the instant between the snapshot and the kill
      const first = Math.min(...cluster.gateway.to(d.phone).filter((x) => x.completed).map((x) => x.receivedAt));
      assert.ok(first >= until, `${d.phone} redelivered ${until - first} ms before its lease ran out`);
    }
    const final = await withPg(cluster.dbUrl, async (c) => (await c.query<{ n: string }>(`select count(*) as n from messages where status <> 'sent' or lease_owner is not null`)).rows);
    assert.equal(Number(final[0]!.n), 0);
    assert.equal(b.child.exitCode, null, 'B still runs');
  });
});
