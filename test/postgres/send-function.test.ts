import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { isPostgresReachable } from '../helpers/databases.js';
import { keyUseRecorded, statementsOf } from './support.js';

/**
 * The send in one statement on PostgreSQL (`otpgate_send`, migration 0017): taken when the
 * tenant's fraud guard is off and it has no budget, and answering every request as the
 * transaction of statements does. Each scenario runs for two tenants that differ only in a
 * budget far out of reach, which keeps the second on the transaction, and the answers are
 * compared with their ids taken out.
 */

const reachable = await isPostgresReachable();
if (!reachable && process.env.CI === 'true') throw new Error('PostgreSQL is required in CI');

let phoneSeq = 0;
const nextPhone = () => `+1415555${String(6000 + phoneSeq++).padStart(4, '0')}`;

type Answer = { status: number; retryAfter: string | undefined; body: unknown };

describe('the send in one statement (postgres)', { skip: !reachable && 'PostgreSQL does not answer' }, () => {
  const clock = createManualClock(Date.UTC(2026, 11, 4, 9));
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ dialect: 'postgres', clock });
  });
  after(async () => t?.close());

  const fast = { fraud_guard: { mode: 'off' } };
  // A budget (even one never reached) is charged in the send's transaction.
  const slow = { fraud_guard: { mode: 'off' }, budget: { daily_messages: 1_000_000 } };

  async function call(auth: string, body: Record<string, unknown>, headers?: Record<string, string>): Promise<Answer> {
    const r = await t.call('POST', '/v1/otp/send', { auth, body, ...(headers ? { headers } : {}) });
    return { status: r.statusCode, retryAfter: r.headers['retry-after'] as string | undefined, body: r.json() };
  }

  /** An answer with its ids replaced by their order of appearance, so two tenants' runs compare. */
  function normalised(answers: Answer[]): unknown {
    const names = new Map<string, string>();
    return JSON.parse(
      JSON.stringify(answers).replace(/"request_id":"[^"]*",?/g, '').replace(/\b(chl|ver|msg)_[A-Za-z0-9_-]+/g, (id, kind: string) => {
        if (!names.has(id)) names.set(id, `${kind}#${names.size}`);
        return names.get(id)!;
      }),
    );
  }

  /** Runs `scenario` for a tenant on each path (with fresh phones for each) and checks the answers agree. */
  async function sameOnBothPaths(settings: Record<string, unknown>, scenario: (auth: string, phones: string[]) => Promise<Answer[]>): Promise<Answer[]> {
    const start = clock.now();
    const runs: Answer[][] = [];
    for (const extra of [fast, slow]) {
      clock.set(start);
      const { auth } = await t.createTenant({ ...settings, ...extra });
      const phones = [nextPhone(), nextPhone(), nextPhone()];
      const answers = await scenario(auth, phones);
      // The phones differ between the runs: compare them by position.
      runs.push(JSON.parse(JSON.stringify(answers).replaceAll(phones[0]!, 'P0').replaceAll(phones[1]!, 'P1').replaceAll(phones[2]!, 'P2')) as Answer[]);
    }
    assert.deepEqual(normalised(runs[0]!), normalised(runs[1]!));
    return runs[0]!;
  }

  test('a send is one statement: no transaction, no advisory lock of its own, nothing else written', async () => {
    const { auth, keyId } = await t.createTenant(fast);
    await call(auth, { phone_number: nextPhone() }); // templates and the tenant are cached from here
    await keyUseRecorded(t.deps.store.db, keyId);
    const phone = nextPhone();
    let answer: Answer | undefined;
    const statements = await statementsOf(async () => {
      answer = await call(auth, { phone_number: phone });
    });
    assert.equal(answer?.status, 202, JSON.stringify(answer?.body));
    assert.deepEqual(statements.filter((s) => /otpgate_send/.test(s)).length, 1, statements.join('\n'));
    assert.equal(statements.length, 1, `one statement per send, got:\n${statements.join('\n')}`);

    const slowTenant = await t.createTenant(slow);
    const old = await statementsOf(() => call(slowTenant.auth, { phone_number: nextPhone() }));
    assert.ok(old.length >= 6 && !old.some((s) => /otpgate_send/.test(s)), `the transaction path is still taken with a budget:\n${old.join('\n')}`);

    const rows = await t.deps.store.db.selectFrom('messages').select(['status', 'to_phone']).where('to_phone', '=', phone).execute();
    assert.deepEqual(rows, [{ status: 'queued', to_phone: phone }]);
  });

  test('cooldown: the same refusal, with resend_available_at and Retry-After', async () => {
    const answers = await sameOnBothPaths({ resend_cooldown_seconds: 30 }, async (auth, [p]) => {
      const a = [await call(auth, { phone_number: p })];
      clock.advance(10_500);
      a.push(await call(auth, { phone_number: p }));
      clock.advance(20_000);
      a.push(await call(auth, { phone_number: p }));
      return a;
    });
    assert.deepEqual(answers.map((a) => a.status), [202, 429, 202]);
    assert.equal((answers[1]!.body as { code: string }).code, 'otp.resend_cooldown');
    assert.equal(answers[1]!.retryAfter, '20');
  });

  test('hourly cap per phone: the same refusal and Retry-After from the oldest send', async () => {
    const answers = await sameOnBothPaths({ resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 2 }, async (auth, [p]) => {
      const a: Answer[] = [];
      for (let i = 0; i < 3; i++) {
        a.push(await call(auth, { phone_number: p }));
        clock.advance(60_000);
      }
      return a;
    });
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 429]);
    assert.equal((answers[2]!.body as { code: string }).code, 'otp.rate_limited');
    assert.equal(answers[2]!.retryAfter, String(3600 - 120));
  });

  test('hourly cap per client IP: the same refusal', async () => {
    const answers = await sameOnBothPaths({ resend_cooldown_seconds: 0, max_sends_per_ip_per_hour: 2 }, async (auth, phones) => {
      const a: Answer[] = [];
      for (const p of phones) {
        a.push(await call(auth, { phone_number: p, client_ip: '203.0.113.9' }));
        clock.advance(1000);
      }
      return a;
    });
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 429]);
    assert.match((answers[2]!.body as { detail: string }).detail, /client IP/);
  });

  test('idempotent replay and a conflicting body: the same answers', async () => {
    const answers = await sameOnBothPaths({}, async (auth, [p, q]) => {
      const key = { 'idempotency-key': `k-${p}` };
      return [await call(auth, { phone_number: p }, key), await call(auth, { phone_number: p }, key), await call(auth, { phone_number: q }, key)];
    });
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 409]);
    assert.deepEqual(answers[1]!.body, answers[0]!.body);
  });

  test('new_code resends join the verification; the fourth code leaves it; a new amount replaces it', async () => {
    const answers = await sameOnBothPaths({ resend_cooldown_seconds: 0, resend_policy: 'new_code' }, async (auth, [p]) => {
      const a: Answer[] = [];
      for (let i = 0; i < 4; i++) {
        a.push(await call(auth, { phone_number: p }));
        clock.advance(1000);
      }
      a.push(await call(auth, { phone_number: p, amount: '10.00 EUR', payee: 'Shop' }));
      const ids = a.map((x) => (x.body as { challenge_id: string }).challenge_id);
      const rows = await t.deps.store.db.selectFrom('challenges').select(['id', 'status']).where('id', 'in', ids).execute();
      const status = new Map(rows.map((r) => [r.id, r.status]));
      a.push({ status: 0, retryAfter: undefined, body: ids.map((id) => status.get(id)) });
      return a;
    });
    const vids = answers.slice(0, 5).map((a) => (a.body as { verification_id: string }).verification_id);
    assert.equal(new Set(vids.slice(0, 4)).size, 1);
    assert.notEqual(vids[4], vids[0]);
    assert.deepEqual(answers[5]!.body, ['superseded', 'superseded', 'superseded', 'superseded', 'pending']);
  });

  /** The codes of the messages sent to `phone`, oldest first. */
  async function codesSentTo(auth: string, phone: string): Promise<Array<string | undefined>> {
    await t.drainOutbox();
    const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth });
    return inbox
      .json<{ items: Array<{ body: string; created_at: string }> }>()
      .items.sort((x, y) => x.created_at.localeCompare(y.created_at))
      .map((i) => /\b(\d{6})\b/.exec(i.body)?.[1]);
  }

  test('same_code: a resend is two calls, no transaction, and repeats the code with its expiry', async () => {
    const { auth, keyId } = await t.createTenant({ ...fast, resend_cooldown_seconds: 0, resend_policy: 'same_code' });
    const p = nextPhone();
    const first = await call(auth, { phone_number: p });
    await keyUseRecorded(t.deps.store.db, keyId);
    clock.advance(1000);
    let second: Answer | undefined;
    const statements = await statementsOf(async () => {
      second = await call(auth, { phone_number: p });
    });
    assert.equal(second?.status, 202, JSON.stringify(second?.body));
    const [a, b] = [first.body, second!.body] as Array<{ verification_id: string; expires_at: string }>;
    assert.equal(b!.verification_id, a!.verification_id);
    assert.equal(b!.expires_at, a!.expires_at, 'the same code keeps its expiry');
    assert.deepEqual(statements.length, 2, `two statements per same_code resend, got:\n${statements.join('\n')}`);
    assert.ok(statements.every((s) => /otpgate_send/.test(s)), statements.join('\n'));
    const codes = await codesSentTo(auth, p);
    assert.equal(codes.length, 2);
    assert.equal(codes[0], codes[1]);
  });

  test('same_code resends answer as the transaction does: four codes, a replay, a new amount, another caller-made code', async () => {
    const answers = await sameOnBothPaths({ resend_cooldown_seconds: 0, resend_policy: 'same_code' }, async (auth, [p, q]) => {
      const a: Answer[] = [];
      for (let i = 0; i < 4; i++) {
        a.push(await call(auth, { phone_number: p }, { 'idempotency-key': `r${i}-${p}` }));
        clock.advance(1000);
      }
      a.push(await call(auth, { phone_number: p }, { 'idempotency-key': `r3-${p}` }));
      const ids = a.map((x) => (x.body as { challenge_id: string }).challenge_id);
      const rows = await t.deps.store.db.selectFrom('challenges').select(['id', 'status', 'expires_at']).where('id', 'in', ids).execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      a.push({ status: 0, retryAfter: undefined, body: ids.map((id) => [byId.get(id)?.status, byId.get(id)?.expires_at]) });
      a.push(await call(auth, { phone_number: p, amount: '10.00 EUR', payee: 'Shop' }));
      // A caller-made code: the same one joins; another starts a new verification.
      a.push(await call(auth, { phone_number: q, custom_code: '123456' }));
      clock.advance(1000);
      a.push(await call(auth, { phone_number: q, custom_code: '123456' }));
      clock.advance(1000);
      a.push(await call(auth, { phone_number: q, custom_code: '654321' }));
      return a;
    });
    const vids = answers.map((a) => (a.body as { verification_id?: string }).verification_id);
    assert.equal(new Set(vids.slice(0, 5)).size, 1);
    assert.deepEqual(answers[4]!.body, answers[3]!.body, 'the replay answers as the resend did');
    const snapshot = answers[5]!.body as Array<[string, number]>;
    assert.deepEqual(snapshot.map(([status]) => status), ['superseded', 'pending', 'pending', 'pending', 'pending'], 'only the newest three codes verify');
    assert.equal(new Set(snapshot.map(([, expires]) => expires)).size, 1, 'one expiry for one code');
    assert.ok(vids[6] && vids[6] !== vids[0], 'a new amount is a new verification');
    assert.equal(vids[8], vids[7]);
    assert.notEqual(vids[9], vids[8]);
  });

  test('same_code: when the open verification ends between the two calls, the second rolls back and the transaction starts a new one', async () => {
    const { auth } = await t.createTenant({ ...fast, resend_cooldown_seconds: 0, resend_policy: 'same_code' });
    const p = nextPhone();
    const first = await call(auth, { phone_number: p });
    const before = (first.body as { verification_id: string }).verification_id;
    clock.advance(1000);
    // Just before the second call, the verification is approved by someone else.
    const original = pg.Client.prototype.query;
    let ended = false;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const values = (Array.isArray(args[1]) ? args[1] : (args[0] as { values?: unknown[] })?.values) as unknown[] | undefined;
      if (!ended && typeof values?.[0] === 'string' && values[0].includes('"join_verification"')) {
        ended = true;
        return (async () => {
          await t.deps.store.db.updateTable('verifications').set({ status: 'approved', code_sealed: null }).where('id', '=', before).execute();
          await t.deps.store.db.updateTable('challenges').set({ status: 'verified' }).where('verification_id', '=', before).execute();
          return (original as (...a: unknown[]) => unknown).apply(this, args);
        })();
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    let second: Answer;
    try {
      second = await call(auth, { phone_number: p });
    } finally {
      pg.Client.prototype.query = original;
    }
    assert.ok(ended, 'the second call was made');
    assert.equal(second.status, 202, JSON.stringify(second.body));
    const after = second.body as { verification_id: string; expires_at: string; challenge_id: string };
    assert.notEqual(after.verification_id, before);
    assert.equal(after.expires_at, new Date(clock.now() + 300_000).toISOString(), 'a new code with its own expiry');
    const rows = await t.deps.store.db.selectFrom('challenges').select(['id', 'verification_id', 'status']).where('phone', '=', p).orderBy('created_at').execute();
    assert.deepEqual(
      rows.map((r) => [r.verification_id, r.status]),
      [
        [before, 'verified'],
        [after.verification_id, 'pending'],
      ],
    );
    const messages = await t.deps.store.db.selectFrom('messages').select('id').where('to_phone', '=', p).execute();
    assert.equal(messages.length, 2, 'nothing of the rolled-back call is left');
  });

  test('concurrent sends to one phone: exactly one is accepted; with one idempotency key, every answer is that one', async () => {
    const { auth } = await t.createTenant({ ...fast, resend_cooldown_seconds: 30 });
    const p = nextPhone();
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(auth, { phone_number: p })));
    assert.equal(answers.filter((a) => a.status === 202).length, 1);
    assert.ok(answers.every((a) => a.status === 202 || (a.body as { code: string }).code === 'otp.resend_cooldown'));

    const q = nextPhone();
    const key = { 'idempotency-key': `race-${q}` };
    const same = await Promise.all(Array.from({ length: 8 }, () => call(auth, { phone_number: q }, key)));
    const accepted = same.filter((a) => a.status === 202);
    const inProgress = same.filter((a) => a.status === 409 && (a.body as { code: string }).code === 'request.idempotency_in_progress');
    assert.equal(accepted.length + inProgress.length, 8, JSON.stringify(same.map((a) => a.body)));
    assert.ok(accepted.length >= 1);
    for (const a of accepted) assert.deepEqual(a.body, accepted[0]!.body);
    const challenges = await t.deps.store.db.selectFrom('challenges').select('id').where('phone', '=', q).execute();
    assert.equal(challenges.length, 1, 'one send stored');
  });
});
