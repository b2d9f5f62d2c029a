import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHeldGateway, type HeldGateway } from '../fakes/held-gateway.js';
import { createTestDatabase, isPostgresReachable } from '../helpers/databases.js';
import { startLiveServer, tempDataDir, waitFor, withStore } from '../helpers/live-server.js';

/**
 * Graceful shutdown (issue 2, item 11) on a real server: stop() lets an in-flight delivery
 * finish within the grace period; past it, the provider call is aborted and the attempt is
 * recorded and the message queued again BEFORE the store closes, so the next start delivers it.
 */

const PHONE = '+14155550123';

interface Mode {
  name: string;
  dispatchMode: 'worker' | 'in-process';
  env: Record<string, string>;
  database(): Promise<{ url: string; drop(): Promise<void> }>;
}

const modes: Mode[] = [
  { name: 'SQLite file, dispatch worker thread', dispatchMode: 'worker', env: {}, database: () => createTestDatabase('sqlite') },
  { name: 'SQLite file, in-process dispatcher', dispatchMode: 'in-process', env: { OTPGATE_DISPATCH_WORKER: 'off' }, database: () => createTestDatabase('sqlite') },
];
if (await isPostgresReachable()) modes.push({ name: 'PostgreSQL, in-process dispatcher', dispatchMode: 'in-process', env: {}, database: () => createTestDatabase('postgres') });

async function messageState(dbUrl: string, messageId: string) {
  return withStore(dbUrl, async (store) => {
    const message = await store.db.selectFrom('messages').selectAll().where('id', '=', messageId).executeTakeFirstOrThrow();
    const attempts = await store.db.selectFrom('message_attempts').selectAll().where('message_id', '=', messageId).orderBy('attempt_no').execute();
    return { message, attempts };
  });
}

for (const mode of modes) {
  describe(`graceful shutdown (${mode.name})`, () => {
    let gw: HeldGateway;
    let db: { url: string; drop(): Promise<void> };
    let data: ReturnType<typeof tempDataDir>;
    before(async () => {
      gw = await startHeldGateway();
    });
    after(async () => gw.close());

    async function start(env: Record<string, string>) {
      const s = await startLiveServer({ dbUrl: db.url, dataDir: data.dir, env: { ...gw.env(), ...mode.env, ...env } });
      assert.equal(s.server.dispatchMode, mode.dispatchMode);
      return s;
    }

    async function fresh(fn: () => Promise<void>) {
      db = await mode.database();
      data = tempDataDir();
      gw.hold(0);
      gw.received.length = 0;
      gw.delivered.length = 0;
      try {
        await fn();
      } finally {
        gw.release();
        await db.drop();
        data.remove();
      }
    }

    test('a send shorter than the grace period: stop() waits for it, the message is sent with one attempt', () =>
      fresh(async () => {
        const s = await start({ OTPGATE_SHUTDOWN_GRACE_MS: '10000' });
        const auth = await s.tenant();
        gw.hold(1500);
        const sent = await s.api('POST', '/v1/otp/send', auth, { phone_number: PHONE });
        assert.equal(sent.status, 202, sent.text);
        await gw.waitForInflight(1);
        const t0 = Date.now();
        await s.server.stop();
        const took = Date.now() - t0;
        assert.equal(gw.delivered.length, 1, 'the gateway answered before stop() resolved');
        assert.ok(took >= 1000, `stop() waited for the delivery (took ${took} ms)`);
        const { message, attempts } = await messageState(db.url, sent.json().message_id);
        assert.equal(message.status, 'sent');
        assert.equal(message.attempts, 1);
        assert.equal(message.lease_owner, null);
        assert.equal(message.body_sealed, null);
        assert.deepEqual(attempts.map((a) => a.outcome), ['accepted']);
      }));

    test('a send longer than the grace period: aborted, its attempt recorded, queued again, and delivered after a restart', () =>
      fresh(async () => {
        const first = await start({ OTPGATE_SHUTDOWN_GRACE_MS: '500' });
        const auth = await first.tenant();
        gw.hold('manual');
        const sent = await first.api('POST', '/v1/otp/send', auth, { phone_number: PHONE });
        assert.equal(sent.status, 202, sent.text);
        const { message_id: messageId, challenge_id: challengeId } = sent.json<{ message_id: string; challenge_id: string }>();
        await gw.waitForInflight(1);
        const t0 = Date.now();
        await first.server.stop();
        const took = Date.now() - t0;
        assert.ok(took >= 400, `stop() waited for the grace period (took ${took} ms)`);
        assert.ok(took < 6000, `stop() did not wait much past it (took ${took} ms)`);
        await waitFor('the gateway to see the call go away', () => (gw.abandoned >= 1 ? true : undefined));
        assert.equal(gw.delivered.length, 0);

        const { message, attempts } = await messageState(db.url, messageId);
        assert.equal(message.status, 'queued', JSON.stringify(message));
        assert.equal(message.attempts, 1);
        assert.equal(message.lease_owner, null, 'the lease is released');
        assert.equal(message.lease_until, null);
        assert.ok(message.next_attempt_at <= Date.now(), 'due again at once');
        assert.equal(message.chain_attempts, 0, 'the abort does not count against the provider');
        assert.notEqual(message.body_sealed, null, 'the body is kept for the next attempt');
        assert.equal(attempts.length, 1);
        assert.equal(attempts[0]!.outcome, 'failed');
        assert.equal(attempts[0]!.error_kind, 'transient');
        assert.match(attempts[0]!.error_message ?? '', /shut down during the provider call/);

        // The next start delivers it (the provider may have had it already: at-least-once).
        gw.hold(0);
        const second = await start({ OTPGATE_SHUTDOWN_GRACE_MS: '2000' });
        try {
          await waitFor('the redelivery', () => (gw.delivered.length === 1 ? true : undefined), 10_000);
          const code = /\b(\d{6})\b/.exec(gw.delivered[0]!.message)?.[1];
          const v = await second.api('POST', '/v1/otp/verify', auth, { challenge_id: challengeId, code });
          assert.equal(v.status, 200, v.text);
          // The gateway has answered; the dispatcher records the outcome just after.
          const m = await waitFor('the redelivery to be recorded', async () => {
            const r = await second.api('GET', `/v1/messages/${messageId}`, auth);
            return r.json().status === 'sending' ? undefined : r;
          });
          assert.equal(m.json().status, 'sent', m.text);
          assert.deepEqual(
            m.json().attempt_log.map((a: { outcome: string; error_kind: string | null }) => [a.outcome, a.error_kind]),
            [
              ['failed', 'transient'],
              ['accepted', null],
            ],
          );
        } finally {
          await second.server.stop();
        }
      }));

    test('an HTTP request in flight when stop() begins is answered', () =>
      fresh(async () => {
        const s = await start({ OTPGATE_SHUTDOWN_GRACE_MS: '5000' });
        const auth = await s.tenant();
        gw.hold('manual');
        // A test SMS is sent within the request: it stays in flight while the gateway holds it.
        const inFlight = s.api('POST', '/v1/sms-provider/test', auth, { phone_number: PHONE });
        await gw.waitForInflight(1);
        const t0 = Date.now();
        const stopping = s.server.stop();
        await sleep(200);
        gw.release();
        const r = await inFlight;
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json().status, 'accepted', r.text);
        await stopping;
        // Not held up by the answered request's keep-alive connection (Fastify keeps one 72 s).
        const took = Date.now() - t0;
        assert.ok(took < 4000, `stop() ended soon after the answer (took ${took} ms)`);
      }));
  });
}
