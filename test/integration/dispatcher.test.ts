import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, testDialects } from '../helpers/databases.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';

const PHONE = '+14155552671';
const GW_KEY = 'gw-key-0123456789';

function gatewayEnv(gw: CustomGatewayFake): Record<string, string> {
  return { OTPGATE_DEFAULT_PROVIDER: 'CustomGateway', OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify({ uri: gw.uri, api_key: GW_KEY }) };
}

for (const dialect of await testDialects()) {
  describe(`dispatcher (${dialect})`, () => {
    let gw: CustomGatewayFake;
    before(async () => {
      gw = await startCustomGatewayFake({ apiKey: GW_KEY });
    });
    after(async () => gw.close());

    test('retries a failing provider with backoff, then delivers', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock, env: gatewayEnv(gw) });
      try {
        const { auth } = await t.createTenant();
        gw.fail({ kind: 'status', status: 503, body: 'busy' });
        gw.fail({ kind: 'status', status: 429, body: 'slow down', headers: { 'retry-after': '7' } });
        const s = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).json();
        const before = gw.messages.length;
        await t.drainOutbox();
        let m = (await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json();
        assert.equal(m.status, 'queued');
        assert.equal(m.attempts, 1);
        assert.equal(m.error.kind, 'transient');
        clock.advance(31_000);
        await t.drainOutbox();
        m = (await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json();
        assert.equal(m.status, 'queued');
        assert.equal(m.error.kind, 'rate_limited');
        // Retry-After 7 s is honoured: not due after 5 s, due after 8 s.
        clock.advance(5_000);
        await t.drainOutbox();
        assert.equal((await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json().status, 'queued');
        clock.advance(3_000);
        await t.drainOutbox();
        m = (await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json();
        assert.equal(m.status, 'sent', JSON.stringify(m));
        assert.deepEqual(m.attempt_log.map((a: { outcome: string; error_kind: string | null }) => [a.outcome, a.error_kind]), [
          ['failed', 'transient'],
          ['failed', 'rate_limited'],
          ['accepted', null],
        ]);
        assert.equal(gw.messages.length, before + 1);
        const code = /(\d{6})/.exec(gw.messages.at(-1)!.message)?.[1];
        const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } });
        assert.equal(v.statusCode, 200);
        // The sealed body is scrubbed once the message is final.
        const row = await t.deps.store.db.selectFrom('messages').select('body_sealed').where('id', '=', s.message_id).executeTakeFirstOrThrow();
        assert.equal(row.body_sealed, null);
      } finally {
        await t.close();
      }
    });

    test('gives up at the code’s expiry and never retries past it', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock, env: gatewayEnv(gw) });
      try {
        const { auth } = await t.createTenant({ otp_ttl_seconds: 60 });
        // Each attempt is throttled with Retry-After 40 s: the second retry would land after the
        // 60 s expiry, so the message fails after two attempts instead.
        gw.fail({ kind: 'status', status: 429, headers: { 'retry-after': '40' } });
        gw.fail({ kind: 'status', status: 429, headers: { 'retry-after': '40' } });
        const s = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).json();
        for (let i = 0; i < 20; i++) {
          await t.drainOutbox();
          clock.advance(10_000);
        }
        const m = (await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json();
        assert.equal(m.status, 'failed', JSON.stringify(m));
        const expiresAt = Date.parse((await t.call('GET', `/v1/otp/challenges/${s.challenge_id}`, { auth })).json().expires_at);
        for (const a of m.attempt_log) assert.ok(Date.parse(a.started_at) < expiresAt, 'no attempt after expiry');
        assert.equal(m.attempt_log.length, 2);
        assert.equal(m.error.kind, 'rate_limited');
        const row = await t.deps.store.db.selectFrom('messages').select('body_sealed').where('id', '=', s.message_id).executeTakeFirstOrThrow();
        assert.equal(row.body_sealed, null);
      } finally {
        await t.close();
      }
    });

    test('a restart between send and verify: the queued message is delivered, the code verifies', async () => {
      const db = await createTestDatabase(dialect);
      try {
        const first = await createTestApp({ dialect, dbUrl: db.url, env: gatewayEnv(gw) });
        const { auth } = await first.createTenant();
        const s = (await first.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).json();
        await first.close(); // nothing dispatched yet
        const delivered = gw.messages.length;
        const second = await createTestApp({ dialect, dbUrl: db.url, env: gatewayEnv(gw) });
        try {
          await second.drainOutbox();
          assert.equal(gw.messages.length, delivered + 1);
          const code = /(\d{6})/.exec(gw.messages.at(-1)!.message)?.[1];
          const v = await second.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } });
          assert.equal(v.statusCode, 200, v.body);
        } finally {
          await second.close();
        }
      } finally {
        await db.drop();
      }
    });

    test('an abandoned claim comes back after its lease', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock, env: { ...gatewayEnv(gw), OTPGATE_DISPATCH_LEASE_MS: '5000' } });
      try {
        const { auth } = await t.createTenant();
        const s = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).json();
        // Another dispatcher claims it and dies.
        const { claimDueMessages } = await import('../../src/store/queries/messages.js');
        const stolen = await claimDueMessages(t.deps.store.db, t.deps.store.capabilities, 'dead-node', clock.now(), clock.now() + 5000, 10);
        assert.equal(stolen.length, 1);
        await t.drainOutbox();
        assert.equal((await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json().status, 'sending');
        clock.advance(5_001);
        const n = gw.messages.length;
        await t.drainOutbox();
        assert.equal((await t.call('GET', `/v1/messages/${s.message_id}`, { auth })).json().status, 'sent');
        assert.equal(gw.messages.length, n + 1);
      } finally {
        await t.close();
      }
    });

    test('the running dispatcher delivers at once on enqueue (no polling delay)', async () => {
      const t = await createTestApp({ dialect, env: gatewayEnv(gw), startDispatcher: true });
      try {
        const { auth } = await t.createTenant();
        const n = gw.messages.length;
        const started = Date.now();
        const s = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).json();
        while (gw.messages.length === n && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 2));
        assert.equal(gw.messages.length, n + 1);
        assert.equal(gw.messages.at(-1)!.phoneNumber, PHONE);
        assert.ok(s.message_id);
      } finally {
        await t.close();
      }
    });
  });
}
