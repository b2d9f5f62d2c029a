import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { startTwilioFake, type TwilioFake } from '../fakes/twilio.js';
import { startMessageBirdFake, type MessageBirdFake } from '../fakes/messagebird.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';
import { startTextlocalFake, type TextlocalFake } from '../fakes/textlocal.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { messageBirdFixtures } from '../../src/providers/messagebird/fixtures.js';
import { textlocalFixtures } from '../../src/providers/textlocal/fixtures.js';

/**
 * Failover through the dispatcher (issue 3 §6): the one outcome table decides, every attempt
 * records the provider and its slot, and the circuit breaker skips a provider account that
 * keeps failing, for every tenant using it, until its cool-down passes.
 */

const TW = twilioFixtures.withSenderNumber;
const MB = messageBirdFixtures.alphanumeric;
const TL = textlocalFixtures.ukApiKey;
const GW_KEY = 'gw-failover-key-0123456789';
const PLATFORM_GW_KEY = 'gw-platform-key-0123456789';
const OTHER_SENDER = '+14155550100';

type Attempt = { provider: string; slot: string; outcome: string; error_kind: string | null; provider_code: string | null; http_status: number | null };

function phone(i: number): string {
  return `+1415555${String(2600 + i).padStart(4, '0')}`;
}

let twilio: TwilioFake;
let mb: MessageBirdFake;
let gw: CustomGatewayFake;
let platformGw: CustomGatewayFake;
let tl: TextlocalFake;
before(async () => {
  twilio = await startTwilioFake({ accountSid: TW.account_sid, authToken: TW.auth_token, senders: [OTHER_SENDER] });
  mb = await startMessageBirdFake({ accessKey: MB.access_key });
  gw = await startCustomGatewayFake({ apiKey: GW_KEY });
  platformGw = await startCustomGatewayFake({ apiKey: PLATFORM_GW_KEY, path: '/platform' });
  tl = await startTextlocalFake({ region: 'uk', apiKey: TL.api_key });
});
after(async () => {
  await Promise.all([twilio.close(), mb.close(), gw.close(), platformGw.close(), tl.close()]);
});

const twilioConfig = (authToken: string = TW.auth_token) => ({ ...TW, auth_token: authToken, endpoint: twilio.url });
const gatewayFallback = () => ({ provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY, sender_id: 'OtpGate' } });
const platformEnv = () => ({
  OTPGATE_DEFAULT_PROVIDER: 'CustomGateway',
  OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify({ uri: platformGw.uri, api_key: PLATFORM_GW_KEY, sender_id: 'Platform' }),
});

async function configure(t: TestApp, auth: string, body: unknown): Promise<void> {
  const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body });
  assert.equal(put.statusCode, 200, put.body);
}

async function send(t: TestApp, auth: string, to: string): Promise<{ challenge_id: string; message_id: string }> {
  const s = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: to } });
  assert.equal(s.statusCode, 202, s.body);
  return s.json();
}

async function message(t: TestApp, auth: string, id: string) {
  const m = await t.call('GET', `/v1/messages/${id}`, { auth });
  assert.equal(m.statusCode, 200, m.body);
  return m.json<{ status: string; provider: string | null; next_attempt_at: string | null; error: { kind: string; code: string | null } | null; attempt_log: Attempt[] }>();
}

const steps = (log: Attempt[]) => log.map((a) => `${a.provider}/${a.slot}:${a.outcome}${a.error_kind ? `:${a.error_kind}` : ''}`);

async function verifyLast(t: TestApp, auth: string, challengeId: string, fake: CustomGatewayFake): Promise<void> {
  const code = /(\d{6}) is your /.exec(fake.messages.at(-1)!.message)?.[1];
  const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: challengeId, code } });
  assert.equal(v.statusCode, 200, v.body);
}

for (const dialect of await testDialects()) {
  describe(`failover through the dispatcher (${dialect})`, () => {
    test('a primary that refuses the credentials fails over to the fallback at once', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock });
      try {
        const { auth } = await t.createTenant();
        await configure(t, auth, { provider: 'Twilio', twilio: twilioConfig('0000000000000000000000000000dead'), fallback: gatewayFallback() });
        const s = await send(t, auth, phone(1));
        const n = gw.messages.length;
        await t.drainOutbox(); // no clock advance: the failover is immediate
        const m = await message(t, auth, s.message_id);
        assert.equal(m.status, 'sent', JSON.stringify(m));
        assert.equal(m.provider, 'CustomGateway');
        assert.deepEqual(steps(m.attempt_log), ['Twilio/primary:failed:auth', 'CustomGateway/fallback:accepted']);
        assert.equal(m.attempt_log[0]!.provider_code, '20003');
        assert.equal(gw.messages.length, n + 1);
        await verifyLast(t, auth, s.challenge_id, gw);
      } finally {
        await t.close();
      }
    });

    test('a primary answering 5xx three times is retried with backoff, then the fallback takes over', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock });
      try {
        const { auth } = await t.createTenant();
        await configure(t, auth, { provider: 'Twilio', twilio: twilioConfig(), fallback: gatewayFallback() });
        for (let i = 0; i < 3; i++) twilio.fail({ kind: 'status', status: 503, body: { code: 20500, message: 'Service unavailable', status: 503 } });
        const s = await send(t, auth, phone(2));
        const twilioBefore = twilio.messages.length;
        await t.drainOutbox();
        let m = await message(t, auth, s.message_id);
        assert.equal(m.status, 'queued', 'waits for the backoff after the first 5xx');
        assert.equal(m.error?.kind, 'transient');
        for (let i = 0; i < 10 && m.status === 'queued'; i++) {
          clock.advance(31_000);
          await t.drainOutbox();
          m = await message(t, auth, s.message_id);
        }
        assert.equal(m.status, 'sent', JSON.stringify(m));
        assert.deepEqual(steps(m.attempt_log), [
          'Twilio/primary:failed:transient',
          'Twilio/primary:failed:transient',
          'Twilio/primary:failed:transient',
          'CustomGateway/fallback:accepted',
        ]);
        assert.equal(twilio.messages.length, twilioBefore, 'Twilio accepted nothing');
        await verifyLast(t, auth, s.challenge_id, gw);
      } finally {
        await t.close();
      }
    });

    test('a primary that refuses the message (rejected: no balance, no credits) fails over at once, after one attempt', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock });
      try {
        const { auth } = await t.createTenant();
        const primaries = [
          {
            name: 'MessageBird 25 not enough balance',
            config: { provider: 'MessageBird', messagebird: { ...MB, endpoint: mb.url } },
            inject: () => mb.fail({ kind: 'error', code: 25, description: 'not enough balance' }),
            requests: () => mb.requests.filter((r) => r.path === '/messages').length,
            step: 'MessageBird/primary:failed:rejected',
            code: '25',
          },
          {
            name: 'Textlocal 7 insufficient credits (under HTTP 200)',
            config: { provider: 'Textlocal', textlocal: { ...TL, endpoint: tl.url } },
            inject: () => tl.fail({ kind: 'error', code: 7 }),
            requests: () => tl.requests.length,
            step: 'Textlocal/primary:failed:rejected',
            code: '7',
          },
        ];
        for (const [i, p] of primaries.entries()) {
          await configure(t, auth, { ...p.config, fallback: gatewayFallback() });
          p.inject();
          const before = p.requests();
          const gwBefore = gw.messages.length;
          const s = await send(t, auth, phone(80 + i));
          await t.drainOutbox(); // no clock advance: the failover is immediate
          const m = await message(t, auth, s.message_id);
          assert.equal(m.status, 'sent', `${p.name}: ${JSON.stringify(m)}`);
          assert.equal(m.provider, 'CustomGateway', p.name);
          assert.deepEqual(steps(m.attempt_log), [p.step, 'CustomGateway/fallback:accepted'], p.name);
          assert.equal(m.attempt_log[0]!.provider_code, p.code, p.name);
          assert.equal(p.requests(), before + 1, `${p.name}: one attempt on the primary`);
          assert.equal(gw.messages.length, gwBefore + 1, p.name);
          assert.equal(gw.messages.at(-1)!.phoneNumber, phone(80 + i), p.name);
          await verifyLast(t, auth, s.challenge_id, gw);
          // Nothing comes back to the primary later.
          clock.advance(60_000);
          await t.drainOutbox();
          assert.equal(p.requests(), before + 1, `${p.name}: not retried`);
          assert.equal((await message(t, auth, s.message_id)).attempt_log.length, 2, p.name);
        }
      } finally {
        await t.close();
      }
    });

    test('a rate-limited primary (429 + Retry-After) is retried after the Retry-After, then fails over after three attempts', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock });
      try {
        const { auth } = await t.createTenant();
        await configure(t, auth, { provider: 'MessageBird', messagebird: { ...MB, endpoint: mb.url }, fallback: gatewayFallback() });
        // Longer than every backoff of the first attempts (≤ 1 s): the wait is the Retry-After's.
        const retryAfterS = 20;
        for (let i = 0; i < 3; i++) mb.fail({ kind: 'status', status: 429, headers: { 'retry-after': String(retryAfterS) }, body: 'Too Many Requests', onPath: '/messages' });
        const mbRequests = () => mb.requests.filter((r) => r.path === '/messages').length;
        const mbBefore = mbRequests();
        const mbSent = mb.messages.length;
        const s = await send(t, auth, phone(85));

        for (let attempt = 1; attempt <= 2; attempt++) {
          await t.drainOutbox();
          const m = await message(t, auth, s.message_id);
          assert.equal(m.status, 'queued', `after attempt ${attempt}: ${JSON.stringify(m)}`);
          assert.equal(m.error?.kind, 'rate_limited');
          assert.equal(m.attempt_log.length, attempt);
          assert.equal(m.next_attempt_at, new Date(clock.now() + retryAfterS * 1000).toISOString(), `attempt ${attempt}: next try at the Retry-After`);
          assert.equal(mbRequests(), mbBefore + attempt);
          // Not a millisecond before the Retry-After.
          clock.advance(retryAfterS * 1000 - 1);
          await t.drainOutbox();
          assert.equal(mbRequests(), mbBefore + attempt, `attempt ${attempt}: waits for the Retry-After`);
          clock.advance(1);
        }
        await t.drainOutbox(); // third attempt on MessageBird, then the fallback at once
        const m = await message(t, auth, s.message_id);
        assert.equal(m.status, 'sent', JSON.stringify(m));
        assert.equal(m.provider, 'CustomGateway');
        assert.deepEqual(steps(m.attempt_log), [
          'MessageBird/primary:failed:rate_limited',
          'MessageBird/primary:failed:rate_limited',
          'MessageBird/primary:failed:rate_limited',
          'CustomGateway/fallback:accepted',
        ]);
        for (const a of m.attempt_log.slice(0, 3)) assert.equal(a.http_status, 429);
        assert.equal(mbRequests(), mbBefore + 3, 'three attempts on the rate-limited provider');
        assert.equal(mb.messages.length, mbSent, 'MessageBird accepted nothing');
        await verifyLast(t, auth, s.challenge_id, gw);
      } finally {
        await t.close();
      }
    });

    test('an answer otpgate cannot classify (unknown) is retried on the same provider', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock });
      try {
        const { auth } = await t.createTenant();
        await configure(t, auth, { provider: 'Twilio', twilio: twilioConfig(), fallback: gatewayFallback() });
        // A 201 without a message sid: Twilio may or may not have taken it.
        twilio.fail({ kind: 'status', status: 201, body: { status: 'queued' }, onPath: '/Messages.json' });
        const gwBefore = gw.messages.length;
        const twBefore = twilio.messages.length;
        const s = await send(t, auth, phone(86));
        await t.drainOutbox();
        let m = await message(t, auth, s.message_id);
        assert.equal(m.status, 'queued', `waits for the backoff: ${JSON.stringify(m)}`);
        assert.equal(m.error?.kind, 'unknown');
        assert.deepEqual(steps(m.attempt_log), ['Twilio/primary:failed:unknown']);
        assert.ok(m.next_attempt_at !== null && Date.parse(m.next_attempt_at) > clock.now(), 'with a backoff, not at once');
        clock.advance(1_000); // the first backoff is at most 500 ms
        await t.drainOutbox();
        m = await message(t, auth, s.message_id);
        assert.equal(m.status, 'sent', JSON.stringify(m));
        assert.equal(m.provider, 'Twilio');
        assert.deepEqual(steps(m.attempt_log), ['Twilio/primary:failed:unknown', 'Twilio/primary:accepted']);
        assert.equal(twilio.messages.length, twBefore + 1);
        assert.equal(gw.messages.length, gwBefore, 'the fallback was not needed');
        const code = /(\d{6}) is your /.exec(twilio.messages.at(-1)!.body)?.[1];
        const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } });
        assert.equal(v.statusCode, 200, v.body);
      } finally {
        await t.close();
      }
    });

    test('an invalid recipient stops: no fallback, no platform Default', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock, env: platformEnv() });
      try {
        const { auth } = await t.createTenant();
        await configure(t, auth, { provider: 'Twilio', twilio: twilioConfig(), fallback: gatewayFallback() });
        const gwBefore = gw.messages.length;
        const platformBefore = platformGw.messages.length;
        // Twilio's test magic numbers: 21211 (not a valid number) and 21614 (not a mobile number).
        for (const [to, code] of [['+15005550001', '21211'], ['+15005550009', '21614']] as const) {
          const s = await send(t, auth, to);
          await t.drainOutbox();
          clock.advance(60_000);
          await t.drainOutbox();
          const m = await message(t, auth, s.message_id);
          assert.equal(m.status, 'failed', JSON.stringify(m));
          assert.equal(m.error?.kind, 'invalid_recipient');
          assert.equal(m.error?.code, code);
          assert.deepEqual(steps(m.attempt_log), ['Twilio/primary:failed:invalid_recipient']);
        }
        assert.equal(gw.messages.length, gwBefore, 'the fallback was not tried');
        assert.equal(platformGw.messages.length, platformBefore, 'the platform Default was not tried');
      } finally {
        await t.close();
      }
    });

    test('an explicit platform Default (OTPGATE_DEFAULT_PROVIDER) ends every chain, once', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock, env: platformEnv() });
      try {
        // Primary and fallback both refuse their credentials: the platform Default delivers.
        const a = await t.createTenant({}, 'A');
        await configure(t, a.auth, {
          provider: 'Twilio',
          twilio: twilioConfig('0000000000000000000000000000dead'),
          fallback: { provider: 'MessageBird', messagebird: { ...MB, access_key: 'live_wrong', endpoint: mb.url } },
        });
        const s = await send(t, a.auth, phone(3));
        await t.drainOutbox();
        const m = await message(t, a.auth, s.message_id);
        assert.equal(m.status, 'sent', JSON.stringify(m));
        assert.deepEqual(steps(m.attempt_log), ['Twilio/primary:failed:auth', 'MessageBird/fallback:failed:auth', 'CustomGateway/default:accepted']);
        assert.equal(platformGw.messages.at(-1)?.phoneNumber, phone(3));
        await verifyLast(t, a.auth, s.challenge_id, platformGw);

        // A tenant that chose Default as its fallback gets it once, not twice.
        const b = await t.createTenant({}, 'B');
        await configure(t, b.auth, { provider: 'Twilio', twilio: twilioConfig('0000000000000000000000000000dead'), fallback: { provider: 'Default' } });
        platformGw.fail({ kind: 'status', status: 401, body: { error: 'nope' } });
        const s2 = await send(t, b.auth, phone(4));
        await t.drainOutbox();
        const m2 = await message(t, b.auth, s2.message_id);
        assert.equal(m2.status, 'failed', JSON.stringify(m2));
        assert.deepEqual(steps(m2.attempt_log), ['Twilio/primary:failed:auth', 'CustomGateway/fallback:failed:auth']);

        // A tenant with no configuration at all sends through the Default.
        const c = await t.createTenant({}, 'C');
        const s3 = await send(t, c.auth, phone(5));
        await t.drainOutbox();
        const m3 = await message(t, c.auth, s3.message_id);
        assert.deepEqual(steps(m3.attempt_log), ['CustomGateway/default:accepted']);
      } finally {
        await t.close();
      }
    });

    test('the circuit breaker skips a failing account for every tenant using it, until the cool-down passes', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock });
      try {
        const broken = { provider: 'Twilio', twilio: twilioConfig('0000000000000000000000000000dead'), fallback: gatewayFallback() };
        const a = await t.createTenant({}, 'A');
        const b = await t.createTenant({}, 'B');
        await configure(t, a.auth, broken);
        await configure(t, b.auth, broken);
        const twilioRequests = () => twilio.requests.length;

        // Five consecutive failures (tenant A) open the circuit.
        for (let i = 0; i < 5; i++) {
          const s = await send(t, a.auth, phone(10 + i));
          await t.drainOutbox();
          assert.deepEqual(steps((await message(t, a.auth, s.message_id)).attempt_log), ['Twilio/primary:failed:auth', 'CustomGateway/fallback:accepted']);
        }
        const openedAt = twilioRequests();

        // Tenant B uses the same account: its messages go straight to the fallback.
        for (let i = 0; i < 3; i++) {
          const s = await send(t, b.auth, phone(20 + i));
          await t.drainOutbox();
          const m = await message(t, b.auth, s.message_id);
          assert.equal(m.status, 'sent');
          assert.deepEqual(steps(m.attempt_log), ['CustomGateway/fallback:accepted']);
          await verifyLast(t, b.auth, s.challenge_id, gw);
        }
        // And so do tenant A's.
        const sa = await send(t, a.auth, phone(30));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, a.auth, sa.message_id)).attempt_log), ['CustomGateway/fallback:accepted']);
        assert.equal(twilioRequests(), openedAt, 'Twilio was not called while the circuit was open');

        // Another sender identity at the same provider has its own circuit.
        const other = await t.createTenant({}, 'Other');
        await configure(t, other.auth, { provider: 'Twilio', twilio: { ...twilioConfig(), sender_phone_number: OTHER_SENDER }, fallback: gatewayFallback() });
        const so = await send(t, other.auth, phone(32));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, other.auth, so.message_id)).attempt_log), ['Twilio/primary:accepted']);
        const afterOther = twilioRequests();

        // Still open just before the cool-down ends.
        clock.advance(29_000);
        const sb = await send(t, b.auth, phone(33));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, b.auth, sb.message_id)).attempt_log), ['CustomGateway/fallback:accepted']);
        assert.equal(twilioRequests(), afterOther);

        // After the cool-down one probe goes through; the account works again, so the circuit closes.
        // The cool-down is over: one probe goes to Twilio, fails again, and the circuit reopens.
        clock.advance(1_001);
        const probe = await send(t, b.auth, phone(34));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, b.auth, probe.message_id)).attempt_log), ['Twilio/primary:failed:auth', 'CustomGateway/fallback:accepted']);
        assert.equal(twilioRequests(), afterOther + 1);
        const sb2 = await send(t, b.auth, phone(35));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, b.auth, sb2.message_id)).attempt_log), ['CustomGateway/fallback:accepted']);
        assert.equal(twilioRequests(), afterOther + 1);

        // A probe that succeeds closes it.
        clock.advance(30_001);
        twilio.fail({ kind: 'status', status: 200, body: { sid: `SM${'0'.repeat(32)}`, status: 'queued' }, onPath: '/Messages.json' });
        const ok = await send(t, b.auth, phone(36));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, b.auth, ok.message_id)).attempt_log), ['Twilio/primary:accepted']);
        const after = await send(t, b.auth, phone(37));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, b.auth, after.message_id)).attempt_log), ['Twilio/primary:failed:auth', 'CustomGateway/fallback:accepted']);
      } finally {
        await t.close();
      }
    });

    test('a half-open probe that ends without a verdict (invalid recipient) does not keep the circuit open for ever', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock });
      try {
        const { auth } = await t.createTenant();
        await configure(t, auth, { provider: 'Twilio', twilio: twilioConfig(), fallback: gatewayFallback() });
        // Twilio refuses the (same, right) credentials five times: the circuit opens.
        for (let i = 0; i < 5; i++) {
          twilio.fail({ kind: 'error', code: 20003 });
          const s = await send(t, auth, phone(40 + i));
          await t.drainOutbox();
          assert.deepEqual(steps((await message(t, auth, s.message_id)).attempt_log), ['Twilio/primary:failed:auth', 'CustomGateway/fallback:accepted']);
        }
        const skipped = await send(t, auth, phone(45));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, auth, skipped.message_id)).attempt_log), ['CustomGateway/fallback:accepted']);
        clock.advance(30_001);
        // The probe goes to a number Twilio refuses: the provider answered, the message stops.
        const bad = await send(t, auth, '+15005550001');
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, auth, bad.message_id)).attempt_log), ['Twilio/primary:failed:invalid_recipient']);
        // The account works: within one more cool-down, messages reach Twilio again.
        let last: Attempt[] = [];
        for (let i = 0; i < 3; i++) {
          const s = await send(t, auth, phone(50 + i));
          await t.drainOutbox();
          last = (await message(t, auth, s.message_id)).attempt_log;
          if (last[0]?.provider === 'Twilio') break;
          clock.advance(30_001);
        }
        assert.deepEqual(steps(last), ['Twilio/primary:accepted']);
      } finally {
        await t.close();
      }
    });

    test('a tenant holding a wrong token for an account does not open the circuit for the tenants holding the right one', async () => {
      const clock = createManualClock();
      const t = await createTestApp({ dialect, clock });
      try {
        const evil = await t.createTenant({}, 'Wrong token');
        const good = await t.createTenant({}, 'Right token');
        await configure(t, evil.auth, { provider: 'Twilio', twilio: twilioConfig('0000000000000000000000000000dead'), fallback: gatewayFallback() });
        await configure(t, good.auth, { provider: 'Twilio', twilio: twilioConfig(), fallback: gatewayFallback() });
        for (let i = 0; i < 6; i++) {
          await send(t, evil.auth, phone(60 + i));
          await t.drainOutbox();
        }
        const s = await send(t, good.auth, phone(70));
        await t.drainOutbox();
        assert.deepEqual(steps((await message(t, good.auth, s.message_id)).attempt_log), ['Twilio/primary:accepted']);
      } finally {
        await t.close();
      }
    });
  });
}
