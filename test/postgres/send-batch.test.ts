import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { isStoreUnavailable } from '../../src/store/availability.js';
import { createStore, type Store } from '../../src/store/db.js';
import { addToCountersOfTenants, createGuardInputsBatcher, guardInputs, insertDecision, readCounters, type GuardInputs, type GuardInputsArgs } from '../../src/store/queries/fraud.js';
import { slidingSum } from '../../src/domain/fraud/windows.js';
import { createSendBatcher, type OneCallAnswer, type OneCallSend } from '../../src/store/queries/send.js';
import { createVerifyBatcher, type NamedAnswer, type NamedCall } from '../../src/store/queries/verify.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { isPostgresReachable } from '../helpers/databases.js';
import { queriesOf, waitFor, withPg } from './support.js';

/**
 * Sends and verifies in batches on PostgreSQL (`otpgate_send_batch` and
 * `otpgate_verify_batch`, migrations 0022 and 0023; src/store/call-batcher.ts): concurrent
 * calls share one statement and one commit and get the answers they would get one by one; a
 * batch that fails is made again call by call; a batch cut off by the store is not; two nodes'
 * batches of sends over the same phones and IPs never deadlock.
 */

const reachable = await isPostgresReachable();
if (!reachable && process.env.CI === 'true') throw new Error('PostgreSQL is required in CI');

const HOUR = 3_600_000;
let seq = 0;
const nextPhone = () => `+1415556${String(seq++).padStart(4, '0')}`;
const id = (kind: string) => `${kind}_${randomBytes(9).toString('base64url')}`;

/** What the send service would hand `otpgate_send` for a first code to `phone` at `now`. */
function sendArgs(tenantId: string, phone: string, now: number, o: { ip?: string; cooldownMs?: number; maxPerPhone?: number; maxPerIp?: number; messageId?: string } = {}): OneCallSend {
  const challengeId = id('chl');
  const messageId = o.messageId ?? id('msg');
  const verificationId = id('ver');
  const expiresAt = now + 10 * 60_000;
  return {
    tenant_id: tenantId,
    phone,
    purpose: 'login',
    now,
    live_clock: false,
    client_ip: o.ip ?? null,
    amount: null,
    payee: null,
    resend_policy: 'new_code',
    count_caps: true,
    max_per_phone: o.maxPerPhone ?? 100,
    max_per_ip: o.maxPerIp ?? 1000,
    live_codes: 3,
    idempotency_key: null,
    challenge: {
      id: challengeId, tenant_id: tenantId, phone, purpose: 'login', code_hash: 'h', status: 'pending', attempts: 0, max_attempts: 5,
      client_ip: o.ip ?? null, is_test: 0, message_id: messageId, created_at: now, expires_at: expiresAt, resend_available_at: now + (o.cooldownMs ?? 30_000), verified_at: null,
    },
    verification: {
      id: verificationId, tenant_id: tenantId, phone, purpose: 'login', status: 'pending', attempts: 0, max_attempts: 5, code_sealed: null,
      amount: null, payee: null, created_at: now, updated_at: now, expires_at: expiresAt, approved_at: null,
    },
    message: {
      id: messageId, tenant_id: tenantId, kind: 'otp', challenge_id: challengeId, purpose: 'login', to_phone: phone, body_sealed: 'sealed', body_masked: 'Your code is ******',
      sender_id: null, encoding: 'GSM-7', segments: 1, status: 'queued', attempts: 0, chain_index: 0, chain_attempts: 0, next_attempt_at: now, lease_until: null,
      lease_owner: null, expires_at: expiresAt, provider: null, provider_message_id: null, error_kind: null, error_code: null, error_message: null,
      created_at: now, updated_at: now, sent_at: null, delivered_at: null,
    },
    idempotency: null,
  };
}

const calls = (qs: Array<{ text: string }>, fn: 'otpgate_send' | 'otpgate_send_batch') => qs.filter((q) => q.text.includes(`${fn}(`)).length;

describe('sends in batches (postgres)', { skip: !reachable && 'PostgreSQL does not answer' }, () => {
  const now = Date.UTC(2026, 11, 5, 9);
  let t: TestApp;
  let tenantId: string;
  let second: Store;
  before(async () => {
    t = await createTestApp({ dialect: 'postgres' });
    tenantId = (await t.createTenant()).tenantId;
    // A second node's pool on the same database.
    second = createStore(t.dbUrl, { pgPoolSize: 4 });
  });
  after(async () => {
    await second?.close();
    await t?.close();
  });

  const challengesOf = async (phones: string[]) =>
    t.deps.store.db.selectFrom('challenges').select(['phone', 'status']).where('phone', 'in', phones).orderBy('phone').execute();

  test('the sends of one turn go in one statement, and each gets the answer it would get alone', async () => {
    const batcher = createSendBatcher(t.deps.store.db, { maxInFlight: 1 });
    const [a, b, c] = [nextPhone(), nextPhone(), nextPhone()];
    let answers: OneCallAnswer[] = [];
    const qs = await queriesOf(async () => {
      answers = await Promise.all([
        batcher.send(sendArgs(tenantId, a, now)),
        batcher.send(sendArgs(tenantId, b, now, { cooldownMs: 0 })),
        // The same phone again: the first send's code is in its cooldown.
        batcher.send(sendArgs(tenantId, a, now)),
        // A cap of one send an hour, already used by the first.
        batcher.send(sendArgs(tenantId, b, now, { cooldownMs: 0, maxPerPhone: 1 })),
        batcher.send(sendArgs(tenantId, c, now)),
      ]);
    });
    assert.equal(calls(qs, 'otpgate_send_batch'), 1, JSON.stringify(qs));
    assert.equal(qs.length, 1, 'nothing else is sent');
    assert.deepEqual(
      answers.map((x) => x.outcome),
      ['accepted', 'accepted', 'cooldown', 'phone_cap', 'accepted'],
    );
    assert.equal((answers[2] as { resend_available_at: number }).resend_available_at, now + 30_000);
    assert.equal((answers[3] as { oldest: number }).oldest, now);
    assert.deepEqual(await challengesOf([a, b, c]), [a, b, c].sort().map((phone) => ({ phone, status: 'pending' })));

    // One send alone is the plain call.
    const alone = await queriesOf(() => batcher.send(sendArgs(tenantId, nextPhone(), now)));
    assert.equal(calls(alone, 'otpgate_send_batch'), 0);
    assert.equal(calls(alone, 'otpgate_send'), 1);
  });

  test('while a batch runs, the sends that arrive wait and go in the next one, at most maxBatch at a time', async () => {
    const batcher = createSendBatcher(t.deps.store.db, { maxInFlight: 1, maxBatch: 4 });
    const phones = Array.from({ length: 9 }, nextPhone);
    let answers: OneCallAnswer[] = [];
    const qs = await queriesOf(async () => {
      const first = batcher.send(sendArgs(tenantId, phones[0]!, now));
      await new Promise((r) => setImmediate(r)); // the first is on its way
      answers = await Promise.all([first, ...phones.slice(1).map((p) => batcher.send(sendArgs(tenantId, p, now)))]);
    });
    assert.deepEqual(answers.map((x) => x.outcome), phones.map(() => 'accepted'));
    assert.equal(calls(qs, 'otpgate_send'), 1);
    assert.equal(calls(qs, 'otpgate_send_batch'), 2, 'eight waiting sends, four to a batch');
    assert.equal((await challengesOf(phones)).length, 9);
  });

  test('a batch that fails is sent again send by send: only the failing send fails', async () => {
    const batcher = createSendBatcher(t.deps.store.db, { maxInFlight: 1 });
    const taken = id('msg');
    const first = nextPhone();
    assert.equal((await batcher.send(sendArgs(tenantId, first, now, { messageId: taken }))).outcome, 'accepted');
    const phones = [nextPhone(), nextPhone(), nextPhone()];
    let settled: PromiseSettledResult<OneCallAnswer>[] = [];
    const qs = await queriesOf(async () => {
      settled = await Promise.allSettled([
        batcher.send(sendArgs(tenantId, phones[0]!, now)),
        // A message id already stored: a unique violation in the middle of the batch.
        batcher.send(sendArgs(tenantId, phones[1]!, now, { messageId: taken })),
        batcher.send(sendArgs(tenantId, phones[2]!, now)),
      ]);
    });
    assert.equal(calls(qs, 'otpgate_send_batch'), 1);
    assert.equal(calls(qs, 'otpgate_send'), 3, 'then each on its own');
    assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(((settled[1] as PromiseRejectedResult).reason as { code?: string }).code, '23505');
    assert.deepEqual((await challengesOf(phones)).map((r) => r.phone), [phones[0], phones[2]].sort());
  });

  test("a guarded send goes in the batch too: it holds only if the phone's latest code is the one judged; one that would join is made again on its own", async () => {
    const batcher = createSendBatcher(t.deps.store.db, { maxInFlight: 1 });
    const [a, b, c] = [nextPhone(), nextPhone(), nextPhone()];
    const earlier = sendArgs(tenantId, b, now - 60_000, { cooldownMs: 0 });
    assert.equal((await batcher.send(earlier)).outcome, 'accepted');
    let answers: OneCallAnswer[] = [];
    const qs = await queriesOf(async () => {
      answers = await Promise.all([
        batcher.send({ ...sendArgs(tenantId, a, now), expect_latest: null }),
        // Judged as a first code, but b has a code the guard did not see.
        batcher.send({ ...sendArgs(tenantId, b, now), expect_latest: null }),
        batcher.send(sendArgs(tenantId, c, now)),
      ]);
    });
    assert.equal(calls(qs, 'otpgate_send_batch'), 1);
    assert.deepEqual(answers.map((x) => x.outcome), ['accepted', 'fallback', 'accepted']);
    assert.deepEqual((await challengesOf([a, b, c])).map((r) => r.phone), [a, b, c].sort());
    assert.equal((await challengesOf([b])).length, 1, 'the fallback wrote nothing');

    // b's code is still open: a guarded send that judged it would join its verification (OG003).
    let settled: PromiseSettledResult<OneCallAnswer>[] = [];
    const d = nextPhone();
    const again = await queriesOf(async () => {
      settled = await Promise.allSettled([
        batcher.send({ ...sendArgs(tenantId, b, now, { cooldownMs: 0 }), expect_latest: earlier.challenge.id }),
        batcher.send(sendArgs(tenantId, d, now)),
      ]);
    });
    assert.equal(calls(again, 'otpgate_send_batch'), 1);
    assert.equal(again.filter((q) => q.text.includes('otpgate_send_guarded(')).length, 1, 'then each on its own');
    assert.equal(settled[0]!.status, 'rejected');
    assert.equal(((settled[0] as PromiseRejectedResult).reason as { code?: string }).code, 'OG003');
    assert.equal((settled[1] as PromiseFulfilledResult<OneCallAnswer>).value.outcome, 'accepted');
    assert.equal((await challengesOf([b])).length, 1, 'the joining send wrote nothing');
  });

  test("a guarded send's counts are added in its statement once it is accepted: summed per row, none for a fallback; alone it is a batch of one", async () => {
    const batcher = createSendBatcher(t.deps.store.db, { maxInFlight: 1 });
    const tenant = (await t.createTenant()).tenantId;
    const bucket = now - (now % HOUR);
    const counts = (ip: string) =>
      ['c:US', `i:${ip}`, 'p:+1415556'].map((key) => ({ tenant_id: tenant, key, bucket, sent: 1, verified: 0, segments: 2, cost_micros: 30_000 }));
    const counters = async () =>
      (await t.deps.store.db.selectFrom('fraud_counters').select(['key', 'sent', 'segments', 'cost_micros']).where('tenant_id', '=', tenant).orderBy('key').execute()).map((r) => ({ ...r, cost_micros: Number(r.cost_micros) }));
    const [a, b, c, d] = [nextPhone(), nextPhone(), nextPhone(), nextPhone()];
    assert.equal((await batcher.send(sendArgs(tenant, b, now - 60_000))).outcome, 'accepted');
    let answers: OneCallAnswer[] = [];
    const qs = await queriesOf(async () => {
      answers = await Promise.all([
        batcher.send({ ...sendArgs(tenant, a, now), expect_latest: null, counts: counts('198.51.100.1') }),
        // Judged as a first code, but b has a code the guard did not see: not sent, not counted.
        batcher.send({ ...sendArgs(tenant, b, now), expect_latest: null, counts: counts('198.51.100.1') }),
        batcher.send({ ...sendArgs(tenant, c, now), expect_latest: null, counts: counts('198.51.100.2') }),
      ]);
    });
    assert.equal(calls(qs, 'otpgate_send_batch'), 1);
    assert.ok(!qs.some((q) => /fraud_counters/.test(q.text)), 'no statement of its own for the counts');
    assert.deepEqual(answers.map((x) => x.outcome), ['accepted', 'fallback', 'accepted']);
    assert.deepEqual(await counters(), [
      { key: 'c:US', sent: 2, segments: 4, cost_micros: 60_000 },
      { key: 'i:198.51.100.1', sent: 1, segments: 2, cost_micros: 30_000 },
      { key: 'i:198.51.100.2', sent: 1, segments: 2, cost_micros: 30_000 },
      { key: 'p:+1415556', sent: 2, segments: 4, cost_micros: 60_000 },
    ]);

    const alone = await queriesOf(async () => {
      assert.equal((await batcher.send({ ...sendArgs(tenant, d, now), expect_latest: null, counts: counts('198.51.100.2') })).outcome, 'accepted');
    });
    assert.deepEqual(alone.map((q) => /otpgate_send_batch\(/.test(q.text)), [true]);
    assert.deepEqual((await counters()).map((r) => r.sent), [3, 1, 2, 3]);
  });

  test('a batch cut off by the store fails every one of its sends at once, with no send made again', async () => {
    const batcher = createSendBatcher(t.deps.store.db, { maxInFlight: 1 });
    const phones = [nextPhone(), nextPhone()];
    const key = `${tenantId}:${phones[0]}`;
    await withPg(t.dbUrl, async (holder) => {
      // Hold the first phone's lock, so the batch waits for it; then end its session.
      await holder.query('select pg_advisory_lock(hashtextextended($1, 0))', [key]);
      let settled: PromiseSettledResult<OneCallAnswer>[] = [];
      const qs = await queriesOf(async () => {
        const pending = Promise.allSettled(phones.map((p) => batcher.send(sendArgs(tenantId, p, now))));
        let pid: number | undefined;
        await waitFor('the batch to wait for the lock', async () => {
          const r = await holder.query<{ pid: number }>("select pid from pg_stat_activity where query like 'select otpgate_send_batch%' and wait_event_type = 'Lock'");
          pid = r.rows[0]?.pid;
          return pid !== undefined;
        });
        await holder.query('select pg_terminate_backend($1)', [pid]);
        settled = await pending;
      });
      assert.equal(calls(qs, 'otpgate_send_batch'), 1);
      assert.equal(calls(qs, 'otpgate_send'), 0);
      for (const s of settled) {
        assert.equal(s.status, 'rejected');
        assert.ok(isStoreUnavailable((s as PromiseRejectedResult).reason), String((s as PromiseRejectedResult).reason));
      }
    });
    assert.deepEqual(await challengesOf(phones), []);
  });

  test("two nodes' batches over the same phones and IPs, in opposite orders, never deadlock, and the caps hold", async () => {
    const mine = createSendBatcher(t.deps.store.db, { maxInFlight: 2, maxBatch: 8 });
    const theirs = createSendBatcher(second.db, { maxInFlight: 2, maxBatch: 8 });
    const ips = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'];
    const phones = Array.from({ length: 8 }, nextPhone);
    const rounds = 12;
    const start = now + 2 * HOUR;
    let settled: PromiseSettledResult<OneCallAnswer>[] = [];
    const qs = await queriesOf(async () => {
      const all: Promise<OneCallAnswer>[] = [];
      for (let r = 0; r < rounds; r++) {
        // One time for every round: with no cooldown (resend at `start`), no send waits for another.
        const at = start;
        // Each node's sends take the phones in one order and the IPs in the other.
        for (let i = 0; i < phones.length; i++) {
          const o = { ip: ips[i % ips.length]!, cooldownMs: 0, maxPerPhone: 1000, maxPerIp: 40 };
          all.push(mine.send(sendArgs(tenantId, phones[i]!, at, o)));
          all.push(theirs.send(sendArgs(tenantId, phones[phones.length - 1 - i]!, at, { ...o, ip: ips[ips.length - 1 - (i % ips.length)]! })));
        }
      }
      settled = await Promise.allSettled(all);
    });
    const failed = settled.filter((s) => s.status === 'rejected');
    assert.deepEqual(failed, []);
    assert.ok(calls(qs, 'otpgate_send_batch') >= 2, 'the sends went in batches');
    // No batch failed (a deadlock would have been broken by failing one): none was sent again alone.
    assert.equal(calls(qs, 'otpgate_send'), 0, 'no send went alone');
    const outcomes = settled.map((s) => (s as PromiseFulfilledResult<OneCallAnswer>).value.outcome);
    // Each IP's cap of 40 an hour held across both nodes: 4 IPs × 40 accepted, the rest refused.
    assert.equal(outcomes.filter((o) => o === 'accepted').length, ips.length * 40);
    assert.equal(outcomes.filter((o) => o === 'ip_cap').length, rounds * phones.length * 2 - ips.length * 40);
  });
});

describe('verifies in batches (postgres)', { skip: !reachable && 'PostgreSQL does not answer' }, () => {
  const now = Date.UTC(2026, 11, 5, 10);
  let t: TestApp;
  let tenantId: string;
  before(async () => {
    t = await createTestApp({ dialect: 'postgres' });
    tenantId = (await t.createTenant()).tenantId;
  });
  after(async () => t?.close());

  /** A stored code for a new phone, its hash `h`, whose verification has `maxAttempts`. */
  async function stored(tenant: string): Promise<string> {
    const args = sendArgs(tenant, nextPhone(), now - 1000, { cooldownMs: 0 });
    assert.equal((await createSendBatcher(t.deps.store.db).send(args)).outcome, 'accepted');
    return args.challenge.id;
  }

  const verifyArgs = (tenant: string, challengeId: string, codeHash: string, deliveryIds = [id('evd'), id('evd')]): NamedCall => ({
    tenant_id: tenant,
    challenge_id: challengeId,
    code_hash: codeHash,
    now,
    live_codes: 3,
    event_type: 'verification.approved',
    event_id: id('evt'),
    payload: JSON.stringify({ verification_id: '@verification_id@', purpose: '@purpose@' }),
    delivery_ids: deliveryIds,
  });

  const verifyCalls = (qs: Array<{ text: string }>, fn: 'otpgate_verify_named' | 'otpgate_verify_batch') => qs.filter((q) => q.text.includes(`${fn}(`)).length;

  test('the verifies of one turn go in one statement, and each gets the answer it would get alone', async () => {
    const batcher = createVerifyBatcher(t.deps.store.db, { maxInFlight: 1 });
    const [c1, c2, c3] = [await stored(tenantId), await stored(tenantId), await stored(tenantId)];
    let answers: Array<NamedAnswer | undefined> = [];
    const qs = await queriesOf(async () => {
      answers = await Promise.all([
        batcher.verify(verifyArgs(tenantId, c1, 'h')),
        batcher.verify(verifyArgs(tenantId, c2, 'wrong')),
        batcher.verify(verifyArgs(tenantId, c3, 'h')),
        // The first code again: the earlier element approved it.
        batcher.verify(verifyArgs(tenantId, c1, 'h')),
        batcher.verify(verifyArgs(tenantId, id('chl'), 'h')),
      ]);
    });
    assert.equal(verifyCalls(qs, 'otpgate_verify_batch'), 1, JSON.stringify(qs));
    assert.equal(qs.length, 1, 'nothing else is sent');
    assert.equal(answers[0]?.approved, true);
    assert.deepEqual(answers[1], { wrong: true, attempts: 1, max_attempts: 5 });
    assert.equal(answers[2]?.approved, true);
    assert.equal(answers[3]?.approved, undefined);
    assert.equal((answers[3] as { challenge: { status: string } }).challenge.status, 'verified');
    assert.equal(answers[4], undefined);
    const rows = await t.deps.store.db.selectFrom('challenges').select(['id', 'status']).where('id', 'in', [c1, c2, c3]).execute();
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.id, r.status])), { [c1]: 'verified', [c2]: 'pending', [c3]: 'verified' });
  });

  test('a batch that fails (more event endpoints than delivery ids) is made again verify by verify: only its own verify fails', async () => {
    const batcher = createVerifyBatcher(t.deps.store.db, { maxInFlight: 1 });
    const other = await t.createTenant();
    const hook = await t.call('POST', '/v1/event-endpoints', { auth: other.auth, body: { url: 'http://127.0.0.1:9/hook' } });
    assert.equal(hook.statusCode, 201, hook.body);
    const [mine, theirs] = [await stored(tenantId), await stored(other.tenantId)];
    let settled: PromiseSettledResult<NamedAnswer | undefined>[] = [];
    const qs = await queriesOf(async () => {
      settled = await Promise.allSettled([batcher.verify(verifyArgs(tenantId, mine, 'h')), batcher.verify(verifyArgs(other.tenantId, theirs, 'h', []))]);
    });
    assert.equal(verifyCalls(qs, 'otpgate_verify_batch'), 1);
    assert.equal(verifyCalls(qs, 'otpgate_verify_named'), 2, 'then each on its own');
    assert.equal((settled[0] as PromiseFulfilledResult<NamedAnswer | undefined>).value?.approved, true);
    assert.equal(((settled[1] as PromiseRejectedResult).reason as { code?: string }).code, 'OG002');
    const theirsNow = await t.deps.store.db.selectFrom('challenges').select('status').where('id', '=', theirs).executeTakeFirstOrThrow();
    assert.equal(theirsNow.status, 'pending', 'the failed verify wrote nothing');
  });
});

describe("the fraud guard's reads in batches (postgres)", { skip: !reachable && 'PostgreSQL does not answer' }, () => {
  const now = Date.UTC(2026, 11, 5, 11);
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ dialect: 'postgres' });
  });
  after(async () => t?.close());

  test('the reads of one turn go in one statement, and each answers as the read alone', async () => {
    const { tenantId } = await t.createTenant();
    const [a, b] = [nextPhone(), nextPhone()];
    const sent = sendArgs(tenantId, a, now - 5000, { cooldownMs: 0 });
    assert.equal((await createSendBatcher(t.deps.store.db).send(sent)).outcome, 'accepted');
    const bucket = now - (now % HOUR);
    await addToCountersOfTenants(t.deps.store.db, [
      { tenant_id: tenantId, key: 'c:US', bucket, sent: 7, verified: 3, segments: 7, cost_micros: 0 },
      { tenant_id: tenantId, key: 'i:198.51.100.9', bucket: bucket - HOUR, sent: 2, verified: 0, segments: 2, cost_micros: 0 },
    ]);
    const args = (phone: string, ip: string): GuardInputsArgs => ({
      tenant: tenantId,
      phone,
      purpose: 'login',
      decisionKeys: [`n:${phone}`, 'c:US', 'p:1415', `i:${ip}`],
      now,
      liftedSince: now - 24 * HOUR,
      counterKeys: ['c:US', 'p:1415', `i:${ip}`],
      since: bucket - 24 * HOUR,
    });
    const reads = [args(a, '198.51.100.9'), args(b, '198.51.100.10'), args(b, '198.51.100.9')];
    const alone = await Promise.all(reads.map((r) => guardInputs(t.deps.store.db, r)));
    const batcher = createGuardInputsBatcher(t.deps.store.db, { maxInFlight: 1 });
    let together: GuardInputs[] = [];
    const qs = await queriesOf(async () => {
      together = await Promise.all(reads.map((r) => batcher.read(r)));
    });
    assert.equal(qs.length, 1, JSON.stringify(qs));
    assert.deepEqual(together, alone);
    assert.equal(together[0]!.latest?.id, sent.challenge.id);
    assert.equal(together[1]!.latest, undefined);
    assert.deepEqual(together[2]!.counters.map((c) => c.key).sort(), ['c:US', 'i:198.51.100.9']);
  });

  test("a day of a key's counters comes as at most four rows with the stored rows' hour and day sums and total; the code and decisions as otpgate_guard_inputs reads them", async () => {
    const { tenantId } = await t.createTenant();
    const phone = nextPhone();
    const sent = sendArgs(tenantId, phone, now - 5000, { cooldownMs: 0 });
    assert.equal((await createSendBatcher(t.deps.store.db).send(sent)).outcome, 'accepted');
    const hour = now - (now % HOUR);
    // 30 hours of buckets, from before the day to one ahead of the hour (another node's clock), with counts of their own.
    const rows = [];
    for (let h = -28; h <= 1; h++) {
      for (const [i, key] of ['c:US', 'p:+1415556', 'i:203.0.113.7'].entries()) {
        if (key === 'p:+1415556' && h % 3 === 0) continue;
        rows.push({ tenant_id: tenantId, key, bucket: hour + h * HOUR, sent: 100 + h * 7 + i, verified: 40 + h * 3 + i, segments: 1, cost_micros: 0 });
      }
    }
    await addToCountersOfTenants(t.deps.store.db, rows);
    const decision = (key: string, o: { createdAt: number; expiresAt: number; liftedAt?: number }) => ({
      id: id('fgb'), tenant_id: tenantId, action: 'block' as const, kind: 'prefix' as const, key, rule: 'prefix_hour', reason: 'r', figures: '{}', level: 0, hits: 0,
      created_at: o.createdAt, expires_at: o.expiresAt, lifted_at: o.liftedAt ?? null, lifted_by: o.liftedAt ? 'key' : null,
    });
    await insertDecision(t.deps.store.db, decision('p:+1415556', { createdAt: now - HOUR, expiresAt: now + HOUR }));
    await insertDecision(t.deps.store.db, decision('c:US', { createdAt: now - 3 * HOUR, expiresAt: now + HOUR, liftedAt: now - 2 * HOUR }));
    await insertDecision(t.deps.store.db, decision('i:203.0.113.7', { createdAt: now - 3 * HOUR, expiresAt: now - 2 * HOUR }));
    await insertDecision(t.deps.store.db, decision('p:+1415556', { createdAt: now - 30 * HOUR, expiresAt: now - 25 * HOUR, liftedAt: now - 26 * HOUR }));

    const keys = ['c:US', 'p:+1415556', 'i:203.0.113.7'] as const;
    // The hour's first and last millisecond and two points between.
    for (const at of [hour, hour + 1, hour + 17 * 60_000 + 3, hour + HOUR - 1]) {
      const a: GuardInputsArgs = {
        tenant: tenantId, phone, purpose: 'login', decisionKeys: [`n:${phone}`, ...keys], now: at, liftedSince: at - 24 * HOUR, counterKeys: keys, since: hour - 24 * HOUR,
      };
      const read = await guardInputs(t.deps.store.db, a);
      const stored = await readCounters(t.deps.store.db, tenantId, keys, a.since);
      for (const key of keys) {
        const mine = read.counters.filter((r) => r.key === key);
        const theirs = stored.filter((r) => r.key === key);
        assert.ok(mine.length <= 5 && theirs.length >= 15, `${key}: ${mine.length} rows read, ${theirs.length} stored`);
        // Summed in another order, the oldest hour's share may differ in the last bit.
        const sum = (rs: typeof mine, hours: number) => Object.values(slidingSum(rs, at, hours)).map((v) => Math.round(v * 1e6) / 1e6);
        for (const hours of [1, 24]) assert.deepEqual(sum(mine, hours), sum(theirs, hours), `${key}, ${hours} h at ${at - hour} ms`);
        const total = (rs: typeof mine) => rs.reduce((n, r) => n + r.sent, 0);
        assert.equal(total(mine), total(theirs), key);
      }
      const [fn] = (
        await t.deps.store.db.executeQuery<{ r: { latest: unknown; decisions: Array<{ id: string }> } }>(
          sql`select otpgate_guard_inputs(${tenantId}, ${phone}, 'login', ${sql.val(a.decisionKeys)}::text[], ${at}::bigint, ${a.liftedSince}::bigint, ${sql.val(keys)}::text[], ${a.since}::bigint) as r`.compile(t.deps.store.db),
        )
      ).rows;
      assert.deepEqual(read.latest, fn!.r.latest);
      assert.equal(read.latest?.id, sent.challenge.id);
      assert.deepEqual(read.decisions.map((d) => d.id).sort(), fn!.r.decisions.map((d) => d.id).sort());
      assert.equal(read.decisions.length, 2, 'the block in force and the lift within the day');
    }
  });
});
