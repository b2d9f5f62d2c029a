import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createHousekeeping } from '../../src/services/housekeeping-service.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/**
 * Verifications (docs/verifications.md): a code and its resends for one phone and purpose,
 * under both resend policies; transaction-bound codes; the code alphabet; caller-made codes.
 */

let phoneSeq = 0;
/** A fresh number per test, so tests share one app without sharing verifications. */
const nextPhone = () => `+1415555${String(3000 + phoneSeq++).padStart(4, '0')}`;

type Sent = { challenge_id: string; verification_id: string; expires_at: string; message_id: string };

for (const dialect of await testDialects()) {
  describe(`verifications (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 10, 23, 9));
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    async function send(auth: string, body: Record<string, unknown>, headers?: Record<string, string>): Promise<Sent> {
      const r = await t.call('POST', '/v1/otp/send', { auth, body, ...(headers ? { headers } : {}) });
      assert.equal(r.statusCode, 202, r.body);
      return r.json<Sent>();
    }
    const verify = (auth: string, body: Record<string, unknown>) => t.call('POST', '/v1/otp/verify', { auth, body });
    /** The newest message the Inbox holds for `phone` (the developer's phone: with the code). */
    async function lastBody(auth: string, phone: string): Promise<string> {
      await t.drainOutbox();
      const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth });
      return inbox.json<{ items: Array<{ body: string }> }>().items[0]?.body ?? '';
    }
    async function lastCode(auth: string, phone: string, pattern = /\b(\d{6})\b/): Promise<string> {
      const body = await lastBody(auth, phone);
      const code = pattern.exec(body)?.[1];
      assert.ok(code, `no code in ${JSON.stringify(body)}`);
      return code;
    }
    const wrong = (code: string) => (code === '000000' ? '111111' : '000000');
    const challenge = async (auth: string, id: string) => (await t.call('GET', `/v1/otp/challenges/${id}`, { auth })).json();
    const verification = async (auth: string, id: string) => (await t.call('GET', `/v1/otp/verifications/${id}`, { auth })).json();
    const sealedCode = async (id: string) =>
      (await t.deps.store.db.selectFrom('verifications').select('code_sealed').where('id', '=', id).executeTakeFirstOrThrow()).code_sealed;

    test('same_code: a resend delivers the same code with the same expiry; the first message verifies by its challenge; one success closes all', async () => {
      const { auth } = await t.createTenant({ resend_cooldown_seconds: 30 });
      const phone = nextPhone();
      const first = await send(auth, { phone_number: phone });
      const code = await lastCode(auth, phone);
      assert.ok(await sealedCode(first.verification_id), 'the code is kept sealed while the verification is pending');
      clock.advance(60_000);
      const second = await send(auth, { phone_number: phone });
      assert.equal(second.verification_id, first.verification_id);
      assert.notEqual(second.challenge_id, first.challenge_id);
      assert.equal(second.expires_at, first.expires_at, 'the same expiry');
      assert.equal(await lastCode(auth, phone), code, 'the same code');

      const v = await verification(auth, first.verification_id);
      assert.equal(v.status, 'pending');
      assert.deepEqual(v.sends.map((s: { challenge_id: string }) => s.challenge_id), [first.challenge_id, second.challenge_id]);

      const ok = await verify(auth, { challenge_id: first.challenge_id, code });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().verification_id, first.verification_id);
      for (const c of [first, second]) {
        assert.equal((await challenge(auth, c.challenge_id)).status, 'verified');
        const again = await verify(auth, { challenge_id: c.challenge_id, code });
        assert.equal(again.json().code, 'otp.already_verified');
      }
      assert.equal((await verification(auth, first.verification_id)).status, 'approved');
      assert.equal(await sealedCode(first.verification_id), null, 'the sealed code goes when the verification ends');

      // The next send starts a new verification with a new code.
      clock.advance(60_000);
      const next = await send(auth, { phone_number: phone });
      assert.notEqual(next.verification_id, first.verification_id);
    });

    test('new_code: each resend has a new code; the newest 3 unexpired codes verify, by phone and purpose or any challenge', async () => {
      const { auth } = await t.createTenant({ resend_policy: 'new_code', resend_cooldown_seconds: 0, max_verify_attempts: 10 });
      const phone = nextPhone();
      const sends: Sent[] = [];
      const codes: string[] = [];
      for (let i = 0; i < 2; i++) {
        sends.push(await send(auth, { phone_number: phone, purpose: 'mfa' }));
        codes.push(await lastCode(auth, phone));
        clock.advance(1_000);
      }
      assert.equal(sends[1]!.verification_id, sends[0]!.verification_id);
      assert.equal(await sealedCode(sends[0]!.verification_id), null, 'new_code keeps no code');
      // The late first SMS, typed against the latest challenge.
      const ok = await verify(auth, { challenge_id: sends[1]!.challenge_id, code: codes[0]! });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().challenge_id, sends[0]!.challenge_id, 'the send whose code matched');
      assert.equal((await verify(auth, { phone_number: phone, purpose: 'mfa', code: codes[1]! })).json().code, 'otp.already_verified');

      // Four sends: the first code has left the newest three.
      const phone2 = nextPhone();
      const more: Sent[] = [];
      const moreCodes: string[] = [];
      for (let i = 0; i < 4; i++) {
        more.push(await send(auth, { phone_number: phone2 }));
        moreCodes.push(await lastCode(auth, phone2));
        clock.advance(1_000);
      }
      assert.equal(new Set(more.map((s) => s.verification_id)).size, 1);
      if (!moreCodes.slice(1).includes(moreCodes[0]!)) {
        const old = await verify(auth, { phone_number: phone2, code: moreCodes[0]! });
        assert.equal(old.json().code, 'otp.invalid', old.body);
      }
      assert.equal((await challenge(auth, more[0]!.challenge_id)).status, 'superseded');
      const second = await verify(auth, { challenge_id: more[0]!.challenge_id, code: moreCodes[1]! });
      assert.equal(second.statusCode, 200, second.body);
    });

    test('the attempt budget belongs to the verification: wrong codes across resends lock it, and a send after that starts afresh', async () => {
      for (const policy of ['same_code', 'new_code']) {
        const { auth } = await t.createTenant({ resend_policy: policy, resend_cooldown_seconds: 0, max_verify_attempts: 3 });
        const phone = nextPhone();
        const first = await send(auth, { phone_number: phone });
        const code1 = await lastCode(auth, phone);
        const r1 = await verify(auth, { challenge_id: first.challenge_id, code: wrong(code1) });
        assert.equal(r1.json().attempts_remaining, 2, r1.body);
        const second = await send(auth, { phone_number: phone });
        const code2 = await lastCode(auth, phone);
        assert.equal(second.verification_id, first.verification_id);
        assert.equal((await challenge(auth, second.challenge_id)).attempts_remaining, 2, `${policy}: a resend does not refill the budget`);
        const bad = ['000000', '111111', '222222'].find((c) => c !== code1 && c !== code2)!;
        const r2 = await verify(auth, { challenge_id: second.challenge_id, code: bad });
        assert.equal(r2.json().attempts_remaining, 1, r2.body);
        const r3 = await verify(auth, { phone_number: phone, code: bad });
        assert.equal(r3.statusCode, 429, r3.body);
        assert.equal(r3.json().code, 'otp.attempts_exhausted');
        for (const [c, code] of [[first, code1], [second, code2]] as const) {
          const late = await verify(auth, { challenge_id: c.challenge_id, code });
          assert.equal(late.json().code, 'otp.attempts_exhausted', `${policy}: every code of a locked verification is dead`);
        }
        const v = await verification(auth, first.verification_id);
        assert.equal(v.status, 'max_attempts_reached');
        assert.equal(v.attempts, 3);
        const fresh = await send(auth, { phone_number: phone });
        assert.notEqual(fresh.verification_id, first.verification_id);
        const ok = await verify(auth, { phone_number: phone, code: await lastCode(auth, phone) });
        assert.equal(ok.statusCode, 200, `${policy}: ${ok.body}`);
      }
    });

    test('expiry: same_code ends at the first code’s expiry; new_code at its last code’s, each code at its own', async () => {
      {
        const { auth } = await t.createTenant({ otp_ttl_seconds: 300, resend_cooldown_seconds: 0 });
        const phone = nextPhone();
        const first = await send(auth, { phone_number: phone });
        const code = await lastCode(auth, phone);
        clock.advance(200_000);
        const second = await send(auth, { phone_number: phone });
        assert.equal(second.expires_at, first.expires_at);
        clock.advance(100_001);
        const r = await verify(auth, { challenge_id: second.challenge_id, code });
        assert.equal(r.statusCode, 410, r.body);
        assert.equal(r.json().code, 'otp.expired');
        assert.equal((await verification(auth, first.verification_id)).status, 'expired');
        assert.equal(await sealedCode(first.verification_id), null);
        // A send after the expiry starts a new verification.
        assert.notEqual((await send(auth, { phone_number: phone })).verification_id, first.verification_id);
      }
      {
        const { auth } = await t.createTenant({ resend_policy: 'new_code', otp_ttl_seconds: 300, resend_cooldown_seconds: 0 });
        const phone = nextPhone();
        const first = await send(auth, { phone_number: phone });
        const code1 = await lastCode(auth, phone);
        clock.advance(200_000);
        const second = await send(auth, { phone_number: phone });
        const code2 = await lastCode(auth, phone);
        assert.equal(new Date(second.expires_at).getTime(), clock.now() + 300_000);
        assert.equal((await verification(auth, first.verification_id)).expires_at, second.expires_at);
        clock.advance(100_001);
        if (code1 !== code2) {
          const old = await verify(auth, { challenge_id: first.challenge_id, code: code1 });
          assert.equal(old.json().code, 'otp.invalid', 'the first code expired on its own');
        }
        assert.equal((await verify(auth, { challenge_id: first.challenge_id, code: code2 })).statusCode, 200);
      }
    });

    test('housekeeping ends verifications nobody touched after their expiry, and their sealed codes with them', async () => {
      const { auth } = await t.createTenant({ otp_ttl_seconds: 60 });
      const phone = nextPhone();
      const s = await send(auth, { phone_number: phone });
      assert.ok(await sealedCode(s.verification_id));
      const housekeeping = createHousekeeping(t.deps);
      await housekeeping.runOnce();
      assert.ok(await sealedCode(s.verification_id), 'a pending verification keeps its code');
      clock.advance(60_000);
      assert.ok((await housekeeping.runOnce()).expiredVerifications >= 1);
      assert.equal(await sealedCode(s.verification_id), null);
      assert.equal((await verification(auth, s.verification_id)).status, 'expired');
      assert.equal((await verify(auth, { phone_number: phone, code: '123456' })).json().code, 'otp.expired');
    });

    test('PSD2: amount and payee are shown and bound; a verify with another amount or payee is a wrong attempt', async () => {
      const { auth } = await t.createTenant({ app_name: 'Bank', max_verify_attempts: 5, resend_cooldown_seconds: 0 });
      const phone = nextPhone();
      const tx = { amount: 'EUR 12.50', payee: 'Shop Ltd' };
      const s = await send(auth, { phone_number: phone, purpose: 'transaction', ...tx });
      const body = await lastBody(auth, phone);
      const code = /\b(\d{6})\b/.exec(body)![1]!;
      assert.equal(body, `${code} is your Bank code to pay EUR 12.50 to Shop Ltd. It expires in 5 min.`);
      const logged = (await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json().body;
      assert.equal(logged, '****** is your Bank code to pay EUR 12.50 to Shop Ltd. It expires in 5 min.');

      const tries = [{}, { amount: 'EUR 12.50' }, { ...tx, amount: 'EUR 125.0' }, { ...tx, payee: 'Shop Ltd.' }];
      for (const [i, extra] of tries.entries()) {
        const r = await verify(auth, { challenge_id: s.challenge_id, code, ...extra });
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(r.json().code, 'otp.invalid');
        assert.equal(r.json().attempts_remaining, 4 - i);
      }
      assert.equal((await verification(auth, s.verification_id)).amount, 'EUR 12.50');
      const ok = await verify(auth, { phone_number: phone, purpose: 'transaction', code, ...tx });
      assert.equal(ok.statusCode, 200, ok.body);

      // A send for another amount is another transaction: it replaces the open verification.
      const a = await send(auth, { phone_number: phone, purpose: 'transaction', ...tx });
      const codeA = await lastCode(auth, phone);
      const b = await send(auth, { phone_number: phone, purpose: 'transaction', ...tx, amount: 'EUR 99.00' });
      assert.notEqual(b.verification_id, a.verification_id);
      const stale = await verify(auth, { challenge_id: a.challenge_id, code: codeA, ...tx });
      assert.equal(stale.statusCode, 410, stale.body);
      assert.equal(stale.json().code, 'otp.superseded');
      assert.equal((await verification(auth, a.verification_id)).status, 'canceled');
    });

    test('code_alphabet alphanumeric: codes without look-alikes, masked in the log; verify ignores case', async () => {
      const { auth } = await t.createTenant({ code_alphabet: 'alphanumeric', otp_length: 8, app_name: 'Acme' });
      const phone = nextPhone();
      const s = await send(auth, { phone_number: phone });
      const code = await lastCode(auth, phone, /^([2-9A-HJKMNP-Z]{8}) is your Acme/);
      const logged = (await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json().body;
      assert.match(logged, /^\*{8} is your Acme login code/);
      const ok = await verify(auth, { challenge_id: s.challenge_id, code: code.toLowerCase() });
      assert.equal(ok.statusCode, 200, ok.body);
      const preview = (await t.call('GET', '/v1/templates/login/en', { auth })).json();
      assert.match(preview.preview, /^[A-Z0-9]{8} is your Acme/);
    });

    test('custom_code: delivered and verified, masked in the message log, kept out of logs, audit and every row', async () => {
      const { auth, tenantId } = await t.createTenant({ code_alphabet: 'alphanumeric', app_name: 'Acme', resend_cooldown_seconds: 0 });
      const phone = nextPhone();
      const custom = 'K7PQ2X';
      const s = await send(auth, { phone_number: phone, custom_code: custom.toLowerCase() }, { 'idempotency-key': 'custom-1' });
      assert.equal(await lastCode(auth, phone, /^([A-Z0-9]{6}) is your/), custom, 'delivered in upper case');
      const resend = await send(auth, { phone_number: phone });
      assert.equal(resend.verification_id, s.verification_id);
      assert.equal(await lastCode(auth, phone, /^([A-Z0-9]{6}) is your/), custom, 'same_code repeats the caller’s code');
      const logged = (await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json().body;
      assert.match(logged, /^\*{6} is your Acme login code/);

      // Nothing but sealed values holds the code: every row of every table, the answers, the logs.
      const tables = (await t.deps.store.db.introspection.getTables()).map((x) => x.name);
      for (const table of tables) {
        const rows = await t.deps.store.db.selectFrom(table as 'tenants').selectAll().execute();
        const text = JSON.stringify(rows);
        assert.ok(!text.includes(custom) && !text.includes(custom.toLowerCase()), `${table} holds the custom code`);
      }
      const audit = await t.call('GET', `/v1/tenants/${tenantId}/audit-log`, { auth: adminAuth });
      assert.equal(audit.statusCode, 200, audit.body);
      assert.ok(!audit.body.includes(custom));
      assert.ok(!JSON.stringify(await verification(auth, s.verification_id)).includes(custom));
      assert.ok(!t.logs.text().includes(custom) && !t.logs.text().includes(custom.toLowerCase()), 'the logs hold the custom code');

      const ok = await verify(auth, { challenge_id: s.challenge_id, code: custom });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.ok(!t.logs.text().includes(custom));
    });

    test('concurrent verifies of the right code across the sends of one verification: exactly one succeeds, the others answer otp.already_verified', async () => {
      const { auth } = await t.createTenant({ resend_cooldown_seconds: 0 });
      const phone = nextPhone();
      const a = await send(auth, { phone_number: phone });
      const b = await send(auth, { phone_number: phone });
      const code = await lastCode(auth, phone);
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => verify(auth, i % 3 === 2 ? { phone_number: phone, code } : { challenge_id: (i % 2 ? a : b).challenge_id, code })),
      );
      assert.equal(answers.filter((r) => r.statusCode === 200).length, 1, answers.map((r) => r.body).join('\n'));
      for (const r of answers.filter((x) => x.statusCode !== 200)) assert.equal(r.json().code, 'otp.already_verified', r.body);
      assert.equal((await verification(auth, a.verification_id)).attempts, 0, 'no right code counted as wrong');
    });

    test('cancel and approve a verification through the API', async () => {
      const { auth } = await t.createTenant({ resend_cooldown_seconds: 0 });
      const phone = nextPhone();
      const s = await send(auth, { phone_number: phone });
      const code = await lastCode(auth, phone);
      const canceled = await t.call('PATCH', `/v1/otp/verifications/${s.verification_id}`, { auth, body: { status: 'canceled' } });
      assert.equal(canceled.statusCode, 200, canceled.body);
      assert.equal(canceled.json().status, 'canceled');
      assert.equal(await sealedCode(s.verification_id), null);
      const r = await verify(auth, { challenge_id: s.challenge_id, code });
      assert.equal(r.statusCode, 410);
      assert.equal(r.json().code, 'otp.canceled');
      const twice = await t.call('PATCH', `/v1/otp/verifications/${s.verification_id}`, { auth, body: { status: 'approved' } });
      assert.equal(twice.json().code, 'otp.canceled', 'an ended verification stays as it is');

      const s2 = await send(auth, { phone_number: phone });
      assert.notEqual(s2.verification_id, s.verification_id);
      const approved = await t.call('PATCH', `/v1/otp/verifications/${s2.verification_id}`, { auth, body: { status: 'approved' } });
      assert.equal(approved.json().status, 'approved');
      assert.ok(approved.json().approved_at);
      assert.equal((await verify(auth, { phone_number: phone, code: await lastCode(auth, phone) })).json().code, 'otp.already_verified');
    });
  });
}
