import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import type { DepsOverrides } from '../../src/deps.js';
import { defaultBackoff } from '../../src/domain/retry-policy.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, testDialects, type Dialect } from '../helpers/databases.js';
import { startLiveServer, tempDataDir, waitFor, type LiveServer } from '../helpers/live-server.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';
import { startHeldGateway, type HeldGateway } from '../fakes/held-gateway.js';

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
        const stolen = await claimDueMessages(t.deps.store.db, 'dead-node', clock.now(), clock.now() + 5000, 10);
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

    test('at most BackoffPolicy.maxAttempts attempts per message, over every provider', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock, env: gatewayEnv(gw) });
      try {
        const { auth } = await t.createTenant();
        // Two messages that already made attempts (on other providers, or cut short by shutdowns).
        const last = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).json();
        const spent = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155552672' } })).json();
        await t.deps.store.db.updateTable('messages').set({ attempts: defaultBackoff.maxAttempts - 1 }).where('id', '=', last.message_id).execute();
        await t.deps.store.db.updateTable('messages').set({ attempts: defaultBackoff.maxAttempts }).where('id', '=', spent.message_id).execute();
        gw.fail({ kind: 'status', status: 503, body: 'busy' });
        const before = gw.requests.length;
        await t.drainOutbox();
        // The last allowed attempt fails transiently: no retry although the provider has some left.
        let m = (await t.call('GET', `/v1/messages/${last.message_id}`, { auth })).json();
        assert.equal(m.status, 'failed', JSON.stringify(m));
        assert.equal(m.attempts, defaultBackoff.maxAttempts);
        assert.equal(m.error.kind, 'transient');
        // No attempt at all for the one that used them all.
        m = (await t.call('GET', `/v1/messages/${spent.message_id}`, { auth })).json();
        assert.equal(m.status, 'failed', JSON.stringify(m));
        assert.equal(m.error.kind, 'exhausted');
        assert.deepEqual(m.attempt_log, []);
        assert.equal(gw.requests.length, before + 1, 'one provider call in all');
      } finally {
        await t.close();
      }
    });
  });
}

/**
 * The running dispatcher on a real server (startServer), with polling so slow (60 s) that only
 * the wake-up on enqueue can explain a prompt delivery: in this thread, and in the dispatch
 * worker thread (SQLite file).
 */
const liveModes: Array<{ name: string; dispatchMode: 'worker' | 'in-process'; dialect: Dialect; env: Record<string, string> }> = [
  { name: 'SQLite file, dispatch worker thread', dispatchMode: 'worker', dialect: 'sqlite', env: {} },
  ...(await testDialects()).map((dialect) => ({ name: `${dialect}, in-process`, dispatchMode: 'in-process' as const, dialect, env: { OTPGATE_DISPATCH_WORKER: 'off' } })),
];

for (const mode of liveModes) {
  describe(`running dispatcher (${mode.name})`, () => {
    let gw: HeldGateway;
    before(async () => {
      gw = await startHeldGateway();
    });
    after(async () => gw.close());

    async function withServer(env: Record<string, string>, fn: (s: LiveServer) => Promise<void>, overrides: DepsOverrides = {}) {
      const db = await createTestDatabase(mode.dialect);
      const data = tempDataDir();
      gw.hold(0);
      gw.received.length = 0;
      gw.delivered.length = 0;
      const s = await startLiveServer({ dbUrl: db.url, dataDir: data.dir, env: { ...gw.env(), ...mode.env, OTPGATE_SHUTDOWN_GRACE_MS: '1000', ...env }, overrides: { dispatchPollMs: 60_000, ...overrides } });
      try {
        assert.equal(s.server.dispatchMode, mode.dispatchMode);
        await fn(s);
      } finally {
        gw.release();
        await s.server.stop();
        await db.drop();
        data.remove();
      }
    }

    test('delivers at once on enqueue, not at the next poll', () =>
      withServer({}, async (s) => {
        const auth = await s.tenant();
        // Let the look at start-up pass: from here on the dispatcher sleeps for 60 s unless woken.
        await sleep(300);
        for (const phone of ['+14155550161', '+14155550162']) {
          const sent = await s.api('POST', '/v1/otp/send', auth, { phone_number: phone });
          assert.equal(sent.status, 202, sent.text);
          const accepted = Date.now();
          // Generous for a busy machine, and still far below the 60 s a missed wake-up costs.
          await waitFor(`the gateway to receive the code for ${phone}`, () => (gw.delivered.some((d) => d.phoneNumber === phone) ? true : undefined), 10_000);
          const took = Date.now() - accepted;
          assert.ok(took < 10_000, `delivered ${took} ms after the 202`);
        }
      }));

    // The dispatch worker reads its own clock before a claim's trip to the main thread, and a
    // message accepted during the trip has its wake held back (worker-host.ts): the claim must
    // take what is due by the clock that stamped the messages when it runs. An accepting clock
    // an hour ahead makes that visible every time: by the worker's reading nothing is due.
    test('a claim goes by the clock that accepted the messages, when it runs', () =>
      withServer(
        {},
        async (s) => {
          const auth = await s.tenant();
          for (const phone of ['+14155550181', '+14155550182']) {
            const sent = await s.api('POST', '/v1/otp/send', auth, { phone_number: phone });
            assert.equal(sent.status, 202, sent.text);
          }
          await waitFor('both messages delivered', () => (gw.delivered.length === 2 ? true : undefined), 10_000);
          assert.deepEqual(new Set(gw.delivered.map((d) => d.phoneNumber)), new Set(['+14155550181', '+14155550182']));
        },
        { clock: { now: () => Date.now() + 3_600_000 } },
      ));

    test('OTPGATE_DISPATCH_CONCURRENCY bounds the provider calls in flight', () =>
      withServer({ OTPGATE_DISPATCH_CONCURRENCY: '3' }, async (s) => {
        const auth = await s.tenant();
        gw.hold('manual');
        const phones = Array.from({ length: 8 }, (_, i) => `+1415555017${i}`);
        for (const phone of phones) {
          const sent = await s.api('POST', '/v1/otp/send', auth, { phone_number: phone });
          assert.equal(sent.status, 202, sent.text);
        }
        await gw.waitForInflight(3);
        // Give a dispatcher that ignored the bound every chance to start more.
        await sleep(500);
        assert.equal(gw.inflight, 3);
        assert.equal(gw.maxInflight, 3);
        // Answer slowly from now on: each end lets one more in, never more than 3 at once.
        gw.hold(100);
        gw.release();
        await waitFor('every message delivered', () => (gw.delivered.length === phones.length ? true : undefined), 15_000);
        assert.equal(gw.maxInflight, 3);
        assert.deepEqual(new Set(gw.delivered.map((d) => d.phoneNumber)), new Set(phones));
      }));
  });
}
