import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createManualClock } from '../../src/domain/clock.js';
import { createEventWorker, type EventWorker } from '../../src/dispatcher/event-worker.js';
import { claimDueEventDeliveries } from '../../src/store/queries/events.js';
import { eventTypes } from '../../src/domain/events.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { startTwilioFake, type TwilioFake } from '../fakes/twilio.js';
import { gb, guard } from './fraud-guard-support.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Events to the tenant's backend (docs/events.md): a local endpoint verifies every delivery
 * with the standardwebhooks package, as a tenant's backend would, and processes each webhook
 * id once. The event worker is driven by hand (runOnce) under a manual clock.
 */

type Mode = 'up' | 'down' | 'hold';
interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  signatures: number;
}

/** A tenant's backend: verifies with the standardwebhooks package and dedupes on webhook-id. */
async function startEndpoint(now?: () => number) {
  const secrets: string[] = [];
  const processed = new Map<string, Received>();
  const seen: string[] = [];
  const failures: string[] = [];
  let mode: Mode = 'up';
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/redirect') return res.writeHead(302, { location: 'https://example.com/' }).end();
      if (req.method !== 'POST') return res.writeHead(405).end();
      if (mode === 'down') return res.writeHead(503).end();
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      // The package checks the timestamp against Date.now(): the test's clock is otpgate's now.
      const realNow = Date.now;
      if (now) Date.now = now;
      let payload: { type: string; data: Record<string, unknown> } | undefined;
      try {
        for (const s of secrets) {
          try {
            payload = new Webhook(s).verify(body, headers) as typeof payload;
            break;
          } catch {
            // the next secret
          }
        }
      } finally {
        Date.now = realNow;
      }
      if (!payload) {
        failures.push(body);
        return res.writeHead(401).end();
      }
      const id = headers['webhook-id']!;
      seen.push(id);
      if (!processed.has(id)) processed.set(id, { id, type: payload.type, data: payload.data, signatures: headers['webhook-signature']!.split(' ').length });
      if (mode === 'hold') {
        held.push(res);
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    secrets,
    processed,
    seen,
    failures,
    setMode(m: Mode) {
      mode = m;
    },
    release() {
      for (const r of held.splice(0)) r.writeHead(204).end();
    },
    ofType(type: string) {
      return [...processed.values()].filter((r) => r.type === type);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const TW = twilioFixtures.withSenderNumber;
const PUBLIC_URL = 'https://otp.example.com';

for (const dialect of await testDialects()) {
  describe(`events to the tenant's backend (${dialect})`, () => {
    const clock = createManualClock(Date.now());
    let t: TestApp;
    let ep: Awaited<ReturnType<typeof startEndpoint>>;
    let worker: EventWorker;
    let twilio: TwilioFake;
    const answers: string[] = [];

    before(async () => {
      t = await createTestApp({ dialect, clock, env: { OTPGATE_PUBLIC_URL: PUBLIC_URL } });
      ep = await startEndpoint(() => clock.now());
      twilio = await startTwilioFake({ accountSid: TW.account_sid, authToken: TW.auth_token });
      // The app's own worker with a short deadline, so a slow endpoint times out quickly.
      worker = createEventWorker({ store: t.deps.store, clock, logger: t.deps.logger, secretBox: t.deps.secretBox, http: createHttpForTests(t), timeoutMs: 300 });
    });
    after(async () => {
      ep.release();
      await t.close();
      await ep.close();
      await twilio.close();
    });

    /** Runs the worker until nothing is due now. */
    async function deliverAll() {
      for (let i = 0; i < 50; i++) if ((await worker.runOnce()) === 0) return;
    }
    async function call(method: string, url: string, auth: string, body?: unknown) {
      const res = await t.call(method, url, { auth, ...(body !== undefined ? { body } : {}) });
      answers.push(res.body);
      return res;
    }
    async function addEndpoint(auth: string, body: Record<string, unknown> = {}) {
      const res = await call('POST', '/v1/event-endpoints', auth, { url: `${ep.url}/hook`, ...body });
      assert.equal(res.statusCode, 201, res.body);
      const saved = res.json<{ id: string; secret: string; events: string[] | null }>();
      assert.match(saved.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      ep.secrets.push(saved.secret);
      return saved;
    }
    async function codeFor(auth: string, phone: string): Promise<string> {
      const inbox = (await call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, auth)).json<{ items: Array<{ body: string }> }>();
      return /\b(\d{6})\b/.exec(inbox.items[0]!.body)![1]!;
    }
    async function sendOtp(auth: string, phone: string) {
      const s = await call('POST', '/v1/otp/send', auth, { phone_number: phone });
      return s;
    }

    test('saving: the secret once, never again; unknown types, private, non-http(s) and redirecting URLs 422; another tenant 404; bad input changes nothing', async () => {
      const a = await t.createTenant();
      const b = await t.createTenant();
      const saved = await addEndpoint(a.auth, { events: ['message.sent'], description: 'backend' });
      assert.deepEqual(saved.events, ['message.sent']);
      const got = await call('GET', `/v1/event-endpoints/${saved.id}`, a.auth);
      assert.equal(got.statusCode, 200);
      assert.ok(!got.body.includes(saved.secret) && !('secret' in got.json()));

      const bad = async (body: Record<string, unknown>, code: string) => {
        const res = await call('POST', '/v1/event-endpoints', a.auth, body);
        assert.equal(res.statusCode, 422, res.body);
        assert.equal(res.json().code, code, res.body);
      };
      await bad({ url: `${ep.url}/hook`, events: ['message.sent', 'sms.pumped'] }, 'event_endpoint.unknown_event');
      await bad({ url: 'http://10.0.0.7/hook' }, 'event_endpoint.invalid_url');
      await bad({ url: 'http://169.254.169.254/latest/meta-data' }, 'event_endpoint.invalid_url');
      await bad({ url: 'ftp://example.com/hook' }, 'event_endpoint.invalid_url');
      await bad({ url: `${ep.url}/redirect` }, 'event_endpoint.invalid_url');
      const patch = await call('PATCH', `/v1/event-endpoints/${saved.id}`, a.auth, { url: 'http://192.168.1.1/x' });
      assert.equal(patch.statusCode, 422);
      const unknownField = await call('POST', '/v1/event-endpoints', a.auth, { url: `${ep.url}/hook`, secret: 'mine' });
      assert.equal(unknownField.statusCode, 400);

      for (const [method, path] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/rotate-secret'], ['POST', '/test'], ['GET', '/deliveries']] as const) {
        const res = await call(method, `/v1/event-endpoints/${saved.id}${path}`, b.auth, method === 'PATCH' ? { description: 'mine now' } : undefined);
        assert.equal(res.statusCode, 404, `${method} ${path}: ${res.body}`);
        assert.equal(res.json().code, 'event_endpoint.not_found');
      }
      const list = (await call('GET', '/v1/event-endpoints', a.auth)).json<{ items: Array<{ url: string; description: string }> }>();
      assert.equal(list.items.length, 1);
      assert.equal(list.items[0]!.url, `${ep.url}/hook`);
      assert.equal(list.items[0]!.description, 'backend');
      assert.equal((await call('GET', '/v1/event-endpoints', b.auth)).json().items.length, 0);
      const del = await call('DELETE', `/v1/event-endpoints/${saved.id}`, a.auth);
      assert.equal(del.statusCode, 204);
      assert.equal((await call('GET', `/v1/event-endpoints/${saved.id}`, a.auth)).statusCode, 404);
    });

    test('every event type arrives signed, verified by standardwebhooks, with no code or body in it', async () => {
      const tenant = await t.createTenant({ max_verify_attempts: 1, budget: { daily_messages: 5 }, fraud_guard: guard({ prefix_velocity: { numbers: 3, span: 10, window_minutes: 10 } }) });
      const { auth } = tenant;
      await addEndpoint(auth);

      // message.sent, then verification.approved with the code from the inbox.
      const ok = await sendOtp(auth, gb(100));
      assert.equal(ok.statusCode, 202, ok.body);
      await t.drainOutbox();
      const code = await codeFor(auth, gb(100));
      assert.equal((await call('POST', '/v1/otp/verify', auth, { challenge_id: ok.json().challenge_id, code })).statusCode, 200);
      // verification.failed: one wrong code exhausts max_verify_attempts 1.
      clock.advance(1000);
      const wrong = await sendOtp(auth, gb(300));
      assert.equal(wrong.statusCode, 202, wrong.body);
      const bad = code === '000000' ? '111111' : '000000';
      assert.equal((await call('POST', '/v1/otp/verify', auth, { challenge_id: wrong.json().challenge_id, code: bad })).statusCode, 429);
      // budget.threshold: the 4th message of a daily budget of 5 reaches 80 %; fraud.blocked:
      // near-consecutive numbers of one prefix.
      let blocked = false;
      for (const n of [101, 102, 103]) {
        clock.advance(1000);
        const s = await sendOtp(auth, gb(n));
        if (s.statusCode === 403) blocked = true;
      }
      assert.ok(blocked, 'the prefix velocity rule blocked a send');
      // message.failed and verification.expired: the code expires before it is delivered, then is verified.
      await t.drainOutbox();
      const late = await sendOtp(auth, '+14155550100');
      assert.equal(late.statusCode, 202, late.body);
      clock.advance(3600_000);
      await t.drainOutbox();
      assert.equal((await call('POST', '/v1/otp/verify', auth, { challenge_id: late.json().challenge_id, code: '123456' })).statusCode, 410);
      // message.delivered: a Twilio status callback.
      const other = await t.createTenant();
      await addEndpoint(other.auth, { events: ['message.delivered'] });
      assert.equal((await call('PUT', '/cis/v1/tenantsmsproviders', other.auth, { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } })).statusCode, 200);
      const viaTwilio = await sendOtp(other.auth, '+14155552671');
      await t.drainOutbox();
      const m = (await call('GET', `/v1/messages/${viaTwilio.json().message_id}`, other.auth)).json<{ provider_message_id: string }>();
      const cb = twilio.statusCallback(m.provider_message_id, 'delivered');
      const u = new URL(cb.url);
      const receipt = await t.app.inject({ method: 'POST', url: u.pathname + u.search, headers: Object.fromEntries(Object.entries(cb.headers).filter(([, v]) => v !== undefined)) as Record<string, string>, payload: cb.rawBody! });
      assert.ok(receipt.statusCode < 300, receipt.body);

      await deliverAll();
      assert.deepEqual(ep.failures, [], 'every delivery verified');
      for (const type of eventTypes) assert.ok(ep.ofType(type).length > 0, `${type} arrived`);
      const approved = ep.ofType('verification.approved')[0]!;
      assert.equal(approved.data.challenge_id, ok.json().challenge_id);
      assert.equal(ep.ofType('message.delivered')[0]!.data.message_id, viaTwilio.json().message_id);
      assert.equal(ep.ofType('message.delivered').length, 1, 'the other tenant’s filter kept only its type');
      assert.equal(ep.ofType('fraud.blocked')[0]!.data.rule, 'prefix_velocity');
      assert.equal(ep.ofType('budget.threshold')[0]!.data.budget, 'daily_messages');
      const all = JSON.stringify([...ep.processed.values()]);
      assert.ok(!all.includes(code), 'no code in any event');
      assert.ok(!/Your .*code/i.test(all), 'no message body in any event');

      // The delivery log shows each one delivered.
      const eps = (await call('GET', '/v1/event-endpoints', auth)).json<{ items: Array<{ id: string }> }>();
      const log = (await call('GET', `/v1/event-endpoints/${eps.items[0]!.id}/deliveries?limit=100`, auth)).json<{ items: Array<{ status: string; attempts: number; last_http_status: number }> }>();
      assert.ok(log.items.length >= 8);
      assert.ok(log.items.every((d) => d.status === 'delivered' && d.attempts === 1 && d.last_http_status === 204));
    });

    test('the endpoint’s downtime: retried with backoff, arrives when it is back; a slow answer is retried with the same webhook id', async () => {
      const { auth } = await t.createTenant();
      const saved = await addEndpoint(auth);
      ep.setMode('down');
      const sent = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string; delivery_id: string }>();
      assert.equal(await worker.runOnce(), 1);
      assert.equal(await worker.runOnce(), 0, 'not due again at once');
      let log = (await call('GET', `/v1/event-endpoints/${saved.id}/deliveries`, auth)).json<{ items: Array<{ id: string; status: string; attempts: number; last_http_status: number | null; next_attempt_at: string }> }>();
      assert.equal(log.items[0]!.status, 'queued');
      assert.equal(log.items[0]!.last_http_status, 503);
      assert.ok(Date.parse(log.items[0]!.next_attempt_at) > clock.now());
      // Down for 6 hours: each due retry fails; the gaps grow and stay under the cap.
      for (let i = 0; i < 12; i++) {
        clock.advance(30 * 60_000);
        await deliverAll();
      }
      log = (await call('GET', `/v1/event-endpoints/${saved.id}/deliveries`, auth)).json();
      const attemptsWhileDown = log.items[0]!.attempts;
      assert.ok(attemptsWhileDown >= 6 && attemptsWhileDown <= 40, `attempts ${attemptsWhileDown}`);
      assert.equal(ep.processed.has(sent.event_id), false);
      const ep1 = (await call('GET', `/v1/event-endpoints/${saved.id}`, auth)).json<{ failing_since: string | null; enabled: boolean }>();
      assert.ok(ep1.failing_since && ep1.enabled);

      ep.setMode('up');
      clock.advance(3600_000);
      await deliverAll();
      assert.ok(ep.processed.has(sent.event_id), 'arrived after the endpoint came back');
      assert.equal((await call('GET', `/v1/event-endpoints/${saved.id}`, auth)).json().failing_since, null);

      // A slow answer: otpgate's deadline passes, the retry carries the same webhook id, and
      // the endpoint processes it once.
      ep.setMode('hold');
      const slow = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string }>();
      await worker.runOnce();
      ep.setMode('up');
      clock.advance(3600_000);
      await deliverAll();
      ep.release();
      assert.equal(ep.seen.filter((id) => id === slow.event_id).length, 2, 'sent twice');
      assert.equal([...ep.processed.keys()].filter((id) => id === slow.event_id).length, 1, 'processed once');
      const slowLog = (await call('GET', `/v1/event-endpoints/${saved.id}/deliveries?limit=1`, auth)).json<{ items: Array<{ event_id: string; status: string; attempts: number; last_error: string | null }> }>();
      assert.equal(slowLog.items[0]!.event_id, slow.event_id);
      assert.equal(slowLog.items[0]!.status, 'delivered');
      assert.equal(slowLog.items[0]!.attempts, 2);
    });

    test('send again: the same webhook id and body; a retry of another tenant’s delivery is 404', async () => {
      const { auth } = await t.createTenant();
      const other = await t.createTenant();
      const saved = await addEndpoint(auth);
      const sent = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string; delivery_id: string }>();
      await deliverAll();
      assert.ok(ep.processed.has(sent.event_id));
      const before = ep.seen.filter((id) => id === sent.event_id).length;
      const again = await call('POST', `/v1/event-endpoints/${saved.id}/deliveries/${sent.delivery_id}/retry`, auth);
      assert.equal(again.statusCode, 202, again.body);
      assert.equal(again.json().event_id, sent.event_id);
      assert.equal(again.json().status, 'queued');
      await deliverAll();
      assert.equal(ep.seen.filter((id) => id === sent.event_id).length, before + 1);
      assert.equal((await call('POST', `/v1/event-endpoints/${saved.id}/deliveries/${sent.delivery_id}/retry`, other.auth)).statusCode, 404);
      const missing = await call('POST', `/v1/event-endpoints/${saved.id}/deliveries/evd_00000000000000000000000000/retry`, auth);
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().code, 'event_delivery.not_found');
    });

    test('rotation: both secrets verify for 24 h, then only the new one', async () => {
      const { auth } = await t.createTenant();
      const saved = await addEndpoint(auth);
      const oldSecret = saved.secret;
      const rotated = await call('POST', `/v1/event-endpoints/${saved.id}/rotate-secret`, auth);
      assert.equal(rotated.statusCode, 200, rotated.body);
      const newSecret = rotated.json<{ secret: string }>().secret;
      assert.notEqual(newSecret, oldSecret);
      assert.equal((await call('GET', `/v1/event-endpoints/${saved.id}`, auth)).json().previous_secret_expires_at, new Date(clock.now() + 24 * 3600_000).toISOString());

      // A backend that knows only one of the two secrets verifies every delivery during the rotation.
      ep.secrets.splice(0, ep.secrets.length, oldSecret);
      const during = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string }>();
      await deliverAll();
      assert.equal(ep.processed.get(during.event_id)?.signatures, 2);
      ep.secrets.splice(0, ep.secrets.length, newSecret);
      const during2 = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string }>();
      await deliverAll();
      assert.ok(ep.processed.has(during2.event_id));

      clock.advance(24 * 3600_000 + 1000);
      ep.secrets.splice(0, ep.secrets.length, oldSecret);
      const afterRotation = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string }>();
      await worker.runOnce();
      assert.equal(ep.processed.has(afterRotation.event_id), false, 'the old secret no longer verifies');
      assert.equal(ep.failures.length, 1);
      ep.failures.length = 0;
      ep.secrets.splice(0, ep.secrets.length, newSecret);
      clock.advance(3600_000);
      await deliverAll();
      const d = ep.processed.get(afterRotation.event_id);
      assert.equal(d?.signatures, 1);
    });

    test('an endpoint failing for 3 days is disabled; deliveries give up after their 24 h window', async () => {
      const { auth } = await t.createTenant();
      const saved = await addEndpoint(auth);
      ep.setMode('down');
      const first = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ delivery_id: string }>();
      await worker.runOnce();
      clock.advance(25 * 3600_000);
      await deliverAll();
      const log = (await call('GET', `/v1/event-endpoints/${saved.id}/deliveries`, auth)).json<{ items: Array<{ id: string; status: string }> }>();
      assert.equal(log.items.find((d) => d.id === first.delivery_id)?.status, 'failed');
      assert.equal((await call('GET', `/v1/event-endpoints/${saved.id}`, auth)).json().enabled, true);
      clock.advance(2 * 24 * 3600_000);
      await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth);
      await deliverAll();
      const disabled = (await call('GET', `/v1/event-endpoints/${saved.id}`, auth)).json<{ enabled: boolean; disabled_reason: string | null }>();
      assert.equal(disabled.enabled, false);
      assert.match(disabled.disabled_reason ?? '', /3 days/);
      // Turned on again by the tenant: deliveries resume.
      ep.setMode('up');
      const on = await call('PATCH', `/v1/event-endpoints/${saved.id}`, auth, { enabled: true });
      assert.equal(on.json().enabled, true);
      assert.equal(on.json().failing_since, null);
      const next = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string }>();
      await deliverAll();
      assert.ok(ep.processed.has(next.event_id));
    });

    test('two workers (nodes) claiming at once deliver each event once', async () => {
      const { auth } = await t.createTenant();
      const saved = await addEndpoint(auth);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string }>().event_id);
      const seenBefore = ep.seen.length;
      const other = createEventWorker({ store: t.deps.store, clock, logger: t.deps.logger, secretBox: t.deps.secretBox, http: createHttpForTests(t), concurrency: 4 });
      const w2 = createEventWorker({ store: t.deps.store, clock, logger: t.deps.logger, secretBox: t.deps.secretBox, http: createHttpForTests(t), concurrency: 4 });
      for (let i = 0; i < 5; i++) await Promise.all([other.runOnce(), w2.runOnce()]);
      assert.equal(ep.seen.length - seenBefore, 12, 'each sent once');
      for (const id of ids) assert.ok(ep.processed.has(id));
    });

    test('a delivery claimed by a worker that died comes back when its lease runs out, with the same webhook id', async () => {
      const { auth } = await t.createTenant();
      const saved = await addEndpoint(auth);
      const sent = (await call('POST', `/v1/event-endpoints/${saved.id}/test`, auth)).json<{ event_id: string }>();
      const now = clock.now();
      const taken = await t.deps.store.exclusive(() => claimDueEventDeliveries(t.deps.store.db, t.deps.store.capabilities, 'evw_dead', now, now + 40_000, 100));
      assert.ok(taken.some((d) => d.event_id === sent.event_id));
      assert.equal(await worker.runOnce(), 0, 'leased to the dead worker');
      clock.advance(41_000);
      await deliverAll();
      assert.ok(ep.processed.has(sent.event_id));
    });

    test('no secret in logs or answers', () => {
      assert.ok(ep.secrets.length > 0);
      for (const s of ep.secrets) assert.ok(!t.logs.text().includes(s), 'a secret in the logs');
      // Only the create and rotate answers carry a secret (shown once); no other answer does.
      const shownOnce = answers.filter((a) => /"secret":"whsec_/.test(a));
      assert.ok(shownOnce.length > 0);
      for (const a of answers.filter((x) => !/"secret":"whsec_/.test(x))) assert.ok(!a.includes('whsec_'), `an answer shows a secret: ${a.slice(0, 200)}`);
    });
  });
}

describe('event endpoints in production', () => {
  test('only https to public addresses: http, loopback and localhost URLs are 422', async () => {
    const t = await createTestApp({ env: { OTPGATE_ENV: 'production' } });
    try {
      const { auth } = await t.createTenant();
      for (const url of ['http://example.com/hook', 'https://127.0.0.1/hook', 'https://localhost/hook', 'https://[::1]/hook', 'https://10.1.2.3/hook']) {
        const res = await t.call('POST', '/v1/event-endpoints', { auth, body: { url } });
        assert.equal(res.statusCode, 422, `${url}: ${res.body}`);
        assert.equal(res.json().code, 'event_endpoint.invalid_url');
      }
      assert.equal((await t.call('GET', '/v1/event-endpoints', { auth })).json().items.length, 0);
    } finally {
      await t.close();
    }
  });
});

describe('the running server', () => {
  test('its event worker starts and stops with it: a code sent through the dispatch worker thread is told to the endpoint', async () => {
    const srv = await startTestServer();
    const ep = await startEndpoint();
    try {
      const admin = { authorization: `Bearer ${srv.adminKey}`, 'content-type': 'application/json' };
      const post = async (path: string, body: unknown, headers: Record<string, string> = admin) => {
        const res = await fetch(`${srv.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
        return { status: res.status, json: (await res.json()) as Record<string, any> };
      };
      const tenant = await post('/v1/tenants', { name: 'Live', settings: { fraud_guard: { mode: 'off' } } });
      const key = await post(`/v1/tenants/${tenant.json.id}/api-keys`, { name: 'k' });
      const auth = { authorization: `Bearer ${key.json.key}`, 'content-type': 'application/json' };
      const saved = await post('/v1/event-endpoints', { url: `${ep.url}/hook`, events: ['message.sent'] }, auth);
      assert.equal(saved.status, 201);
      ep.secrets.push(saved.json.secret);
      // Waits for the recorded outcome, bounded so a failure reports instead of hanging.
      const arrived = new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const check = setInterval(() => {
          if (ep.ofType('message.sent').length > 0) {
            clearInterval(check);
            resolve();
          } else if (Date.now() - started > 15_000) {
            clearInterval(check);
            reject(new Error(`no message.sent within 15 s; seen ${ep.seen.length}, failures ${ep.failures.length}; logs: ${srv.logs.text().slice(-3000)}`));
          }
        }, 20);
      });
      const sent = await post('/v1/otp/send', { phone_number: '+14155550123' }, auth);
      assert.equal(sent.status, 202);
      await arrived;
      assert.equal(ep.ofType('message.sent')[0]!.data.message_id, sent.json.message_id);
      assert.deepEqual(ep.failures, []);
    } finally {
      await srv.close();
      await ep.close();
    }
  });
});

/** The app's guarded HTTP client (loopback allowed in development). */
function createHttpForTests(t: TestApp) {
  return t.deps.http;
}
