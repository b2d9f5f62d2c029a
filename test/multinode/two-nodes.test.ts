import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postgresSkipReason, waitFor, withPg } from '../postgres/support.js';
import { codeIn, mapLimit, phoneNumber, startCluster, type Cluster } from './cluster.js';
import type { OtpgateProcess } from './node-process.js';

const skip = await postgresSkipReason('multi-node');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `otpgate_messages_final_total{status="sent"}` of one node (its own dispatcher's count). */
async function sentCount(node: OtpgateProcess): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const m = /^otpgate_messages_final_total\{status="sent"\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('two otpgate nodes on one PostgreSQL', { skip }, () => {
  let cluster: Cluster;
  let a: OtpgateProcess;
  let b: OtpgateProcess;

  before(async () => {
    // The default 30 s lease: exactly-once below holds as long as no delivery outlives its
    // lease (with a lease shorter than a slow delivery, another node takes the message over
    // and it is sent twice: at-least-once; see sigkill.test.ts and docs/operations.md).
    cluster = await startCluster({ nodes: 2, env: { OTPGATE_PROVIDER_TIMEOUT_MS: '5000' } });
    [a, b] = cluster.nodes as [OtpgateProcess, OtpgateProcess];
  });
  after(async () => {
    await cluster?.close();
  });

  const send = (node: OtpgateProcess, auth: string, phone: string, headers: Record<string, string> = {}) =>
    fetch(`${node.url}/v1/otp/send`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ phone_number: phone }),
      signal: AbortSignal.timeout(15_000),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  test('300 sends spread over both nodes are each delivered exactly once', { timeout: 90_000 }, async () => {
    const { auth } = await cluster.createTenant(a, { max_sends_per_phone_per_hour: 100_000 });
    const N = 300;
    const phones = Array.from({ length: N }, (_, i) => phoneNumber(i));
    const answers = await mapLimit(phones, 30, (phone, i) => send(i % 2 === 0 ? a : b, auth, phone));
    assert.deepEqual(answers.filter((r) => r.status !== 202), [], 'every send accepted');

    await waitFor(`${N} deliveries`, () => cluster.gateway.deliveries.length >= N, 60_000, 50);
    // Late duplicates (a lease running out under a slow node) would show up now.
    await sleep(1500);
    const perPhone = new Map<string, number>();
    for (const d of cluster.gateway.deliveries) perPhone.set(d.phone, (perPhone.get(d.phone) ?? 0) + 1);
    const twice = [...perPhone].filter(([, n]) => n !== 1).map(([p]) => cluster.gateway.to(p).map((d) => d.receivedAt));
    assert.deepEqual(twice, [], 'no phone got two messages');
    assert.equal(perPhone.size, N);
    for (const p of phones) assert.equal(perPhone.get(p), 1);

    const statuses = await withPg(cluster.dbUrl, async (c) =>
      (await c.query<{ status: string; n: string }>(`select status, count(*) as n from messages where to_phone like '+1202555%' group by status`)).rows,
    );
    assert.deepEqual(statuses.map((r) => [r.status, Number(r.n)]), [['sent', N]]);
    const attempts = await withPg(cluster.dbUrl, async (c) => Number((await c.query<{ n: string }>('select count(*) as n from message_attempts')).rows[0]!.n));
    assert.equal(attempts, N, 'one attempt recorded per message');
    // Both dispatchers took part.
    const sentBy = await Promise.all([a, b].map((n) => sentCount(n)));
    assert.equal(sentBy[0]! + sentBy[1]!, N);
    assert.ok(sentBy[0]! > 0 && sentBy[1]! > 0, `sent by A and B: ${sentBy.join(', ')}`);
  });

  test('a code sent through node A verifies on node B, once', async () => {
    const { auth } = await cluster.createTenant(a, { max_sends_per_phone_per_hour: 100 });
    const phone = phoneNumber(5000);
    const sent = await send(a, auth, phone);
    assert.equal(sent.status, 202);
    await waitFor('the SMS', () => cluster.gateway.to(phone).length === 1, 10_000);
    const code = codeIn(cluster.gateway.to(phone)[0]!.message);
    const verify = await cluster.call(b, 'POST', '/v1/otp/verify', auth, { challenge_id: sent.body['challenge_id'], code });
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal(verify.body['verified'], true);
    const again = await cluster.call(a, 'POST', '/v1/otp/verify', auth, { challenge_id: sent.body['challenge_id'], code });
    assert.equal(again.status, 409);
    assert.equal(again.body['code'], 'otp.already_verified');
  });

  test('nodes racing to verify the same code: exactly one gets verified:true', async () => {
    const { auth } = await cluster.createTenant(a, { max_sends_per_phone_per_hour: 100, resend_cooldown_seconds: 0 });
    for (let round = 0; round < 5; round++) {
      const phone = phoneNumber(5100 + round);
      const sent = await send(round % 2 === 0 ? a : b, auth, phone);
      assert.equal(sent.status, 202);
      await waitFor('the SMS', () => cluster.gateway.to(phone).length === 1, 10_000);
      const code = codeIn(cluster.gateway.to(phone)[0]!.message);
      const body = { challenge_id: sent.body['challenge_id'], code };
      const racers = Array.from({ length: 12 }, (_, i) => cluster.call(i % 2 === 0 ? a : b, 'POST', '/v1/otp/verify', auth, body));
      const results = await Promise.all(racers);
      const winners = results.filter((r) => r.status === 200 && r.body['verified'] === true);
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
      for (const r of results) if (r !== winners[0]) assert.equal(r.body['code'], 'otp.already_verified');
    }
  });

  test('wrong codes at both nodes count against one attempt budget', async () => {
    const { auth } = await cluster.createTenant(a, { max_verify_attempts: 5, resend_cooldown_seconds: 0 });
    const phone = phoneNumber(5200);
    const sent = await send(a, auth, phone);
    await waitFor('the SMS', () => cluster.gateway.to(phone).length === 1, 10_000);
    const code = codeIn(cluster.gateway.to(phone)[0]!.message);
    const wrong = code === '000000' ? '111111' : '000000';
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => cluster.call(i % 2 === 0 ? a : b, 'POST', '/v1/otp/verify', auth, { challenge_id: sent.body['challenge_id'], code: wrong })),
    );
    assert.equal(results.filter((r) => r.body['code'] === 'otp.invalid').length, 4, JSON.stringify(results.map((r) => r.body['code'])));
    assert.equal(results.filter((r) => r.body['code'] === 'otp.attempts_exhausted').length, 16);
    const right = await cluster.call(b, 'POST', '/v1/otp/verify', auth, { challenge_id: sent.body['challenge_id'], code });
    assert.equal(right.body['code'], 'otp.attempts_exhausted', 'a locked challenge never verifies');
  });

  test('the per-phone hourly cap holds across nodes under concurrent sends', async () => {
    const cap = 5;
    const { auth } = await cluster.createTenant(a, { max_sends_per_phone_per_hour: cap, resend_cooldown_seconds: 0 });
    const phone = phoneNumber(6000);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => send(i % 2 === 0 ? a : b, auth, phone)));
    const accepted = results.filter((r) => r.status === 202);
    assert.equal(accepted.length, cap, JSON.stringify(results.map((r) => r.status)));
    // With a 0 s cooldown every refusal is the cap: the cooldown is checked against the clock
    // read after the per-phone lock, so a send that waited behind another is not refused by it.
    for (const r of results) if (r.status !== 202) assert.equal(r.body['code'], 'otp.rate_limited', JSON.stringify(r.body));
    await waitFor(`${cap} SMS`, () => cluster.gateway.to(phone).length >= cap, 10_000);
    await sleep(300);
    assert.equal(cluster.gateway.to(phone).length, cap);
  });

  test('the resend cooldown holds across nodes under concurrent sends', async () => {
    const { auth } = await cluster.createTenant(a, { max_sends_per_phone_per_hour: 100, resend_cooldown_seconds: 30 });
    const phone = phoneNumber(6100);
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => send(i % 2 === 0 ? a : b, auth, phone)));
    assert.equal(results.filter((r) => r.status === 202).length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const r of results) if (r.status !== 202) assert.equal(r.body['code'], 'otp.resend_cooldown');
  });

  test('an Idempotency-Key replays on the other node', async () => {
    const { auth } = await cluster.createTenant(a, { max_sends_per_phone_per_hour: 100 });
    const phone = phoneNumber(6200);
    const first = await send(a, auth, phone, { 'idempotency-key': 'idem-seq-1' });
    assert.equal(first.status, 202);
    const replay = await send(b, auth, phone, { 'idempotency-key': 'idem-seq-1' });
    assert.equal(replay.status, 202);
    assert.equal(replay.body['challenge_id'], first.body['challenge_id']);
    await waitFor('the SMS', () => cluster.gateway.to(phone).length >= 1, 10_000);
    await sleep(300);
    assert.equal(cluster.gateway.to(phone).length, 1);
  });

  // Of concurrent requests with one key, those that waited on the per-phone lock find the
  // first one's key inside the transaction and replay its answer (no cooldown, no second SMS).
  test('concurrent duplicates with an Idempotency-Key all get the one challenge', async () => {
    for (const cooldown of [0, 30]) {
      const { auth } = await cluster.createTenant(a, { max_sends_per_phone_per_hour: 100, resend_cooldown_seconds: cooldown });
      const phone = phoneNumber(6300 + cooldown);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => send(i % 2 === 0 ? a : b, auth, phone, { 'idempotency-key': `idem-race-${cooldown}` })));
      assert.deepEqual(results.map((r) => r.status), [202, 202, 202, 202, 202, 202]);
      assert.equal(new Set(results.map((r) => r.body['challenge_id'])).size, 1);
    }
  });
});
