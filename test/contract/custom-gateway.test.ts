import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { createManualClock } from '../../src/domain/clock.js';
import { maskConfig } from '../../src/services/provider-config-service.js';
import { customGatewayProvider } from '../../src/providers/custom-gateway/index.js';
import { customGatewayFixtures } from '../../src/providers/custom-gateway/fixtures.js';
import { customGatewayTarget, type CustomGatewayConfig } from '../../src/providers/custom-gateway/config.js';
import { ProviderError, type ProviderErrorKind } from '../../src/providers/provider-error.js';
import { createHttpClient } from '../../src/providers/http.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';
import { BODY, TO, assertNothingLeaks, expectProviderError, header, makeContext, sendRequest, type TestContext } from './support.js';

const KEY = customGatewayFixtures.basic.api_key;

describe('Custom gateway against the fake', () => {
  let fake: CustomGatewayFake;
  let config: CustomGatewayConfig;
  const messages: string[] = [];
  const contexts: TestContext[] = [];

  before(async () => {
    fake = await startCustomGatewayFake({ apiKey: KEY });
    config = { uri: fake.uri, api_key: KEY };
  });
  after(async () => {
    await fake.close();
    const logs = contexts.flatMap((c) => c.logs);
    assert.ok(logs.length > 0);
    assertNothingLeaks([...messages, ...logs], [KEY]);
  });

  function ctx(opts: { timeoutMs?: number } = {}) {
    const t = makeContext(opts);
    contexts.push(t);
    return t.ctx;
  }
  async function failWith(kind: ProviderErrorKind, cfg: CustomGatewayConfig = config, req = sendRequest()) {
    const err = await expectProviderError(customGatewayProvider.create(cfg, ctx()).send(req), kind);
    messages.push(err.message);
    return err;
  }
  async function challengeFails(kind: ProviderErrorKind, cfg: CustomGatewayConfig = config, opts: { timeoutMs?: number } = {}) {
    const validate = customGatewayProvider.validate;
    assert.ok(validate);
    const err = await expectProviderError(validate(cfg, ctx(opts)), kind);
    messages.push(err.message);
    return err;
  }

  it('posts exactly the documented JSON with X-API-Key and returns the gateway id', async () => {
    const result = await customGatewayProvider.create({ ...config, sender_id: 'OtpGate' }, ctx()).send(sendRequest({ from: 'Tenant' }));
    const req = fake.requests.at(-1);
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/otpgate');
    assert.equal(header(req.headers, 'content-type'), 'application/json');
    assert.equal(header(req.headers, 'x-api-key'), KEY);
    // Without a signing secret the request is exactly the Mosaic contract: no signature headers.
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) assert.equal(header(req.headers, name), undefined, name);
    assert.deepEqual(JSON.parse(req.body), { phone_number: TO, sender_id: 'OtpGate', message: BODY });
    assert.deepEqual(result, { providerMessageId: fake.messages.at(-1)?.id });
  });

  it("falls back to the tenant's sender_id, then to an empty one", async () => {
    const p = customGatewayProvider.create(config, ctx());
    await p.send(sendRequest({ from: 'Tenant' }));
    assert.equal((JSON.parse(fake.requests.at(-1)?.body ?? '{}') as { sender_id: string }).sender_id, 'Tenant');
    await p.send(sendRequest());
    assert.equal((JSON.parse(fake.requests.at(-1)?.body ?? '{}') as { sender_id: string }).sender_id, '');
  });

  it('treats any 2xx as success, with or without an id', async () => {
    fake.fail({ kind: 'status', status: 204 });
    assert.deepEqual(await customGatewayProvider.create(config, ctx()).send(sendRequest()), { providerMessageId: null });
    fake.fail({ kind: 'status', status: 202, body: { message_id: 42 } });
    assert.deepEqual(await customGatewayProvider.create(config, ctx()).send(sendRequest()), { providerMessageId: '42' });
  });

  it('maps 401/403 to auth, 429 to rate_limited, 5xx to transient, other 4xx to rejected', async () => {
    const err = await failWith('auth', { ...config, api_key: 'wrong' });
    assert.match(err.message, /answered HTTP 401: it refused the API key/);
    fake.fail({ kind: 'status', status: 403, body: 'no' });
    await failWith('auth');
    fake.fail({ kind: 'status', status: 429, headers: { 'retry-after': '4' }, body: '' });
    assert.equal((await failWith('rate_limited')).retryAfterMs, 4000);
    fake.fail({ kind: 'status', status: 502, body: 'bad gateway' });
    await failWith('transient');
    fake.fail({ kind: 'status', status: 422, body: { error: `cannot send ${BODY}` } });
    const rejected = await failWith('rejected');
    assert.match(rejected.message, /HTTP 422: .*cannot send/);
  });

  it('the fake refuses a body that is not JSON (415) and raw numbers that are not E.164 (400)', async () => {
    const post = (contentType: string, body: string) =>
      fetch(fake.uri, { method: 'POST', headers: { 'x-api-key': KEY, 'content-type': contentType }, body });
    const form = await post('application/x-www-form-urlencoded', `phone_number=${encodeURIComponent(TO)}&sender_id=&message=x`);
    assert.equal(form.status, 415);
    assert.deepEqual(await form.json(), { error: 'expected application/json' });
    const text = await post('text/plain', JSON.stringify({ phone_number: TO, sender_id: '', message: 'x' }));
    assert.equal(text.status, 415);

    for (const phone of ['447700900123', '07700900123', '+44 7700 900123', '+0447700900123', '+4477009001234567']) {
      const res = await post('application/json', JSON.stringify({ phone_number: phone, sender_id: '', message: 'x' }));
      assert.equal(res.status, 400, phone);
      assert.deepEqual(await res.json(), { error: 'phone_number must be E.164' }, phone);
    }
    const ok = await post('application/json; charset=utf-8', JSON.stringify({ phone_number: TO, sender_id: '', message: 'x' }));
    assert.equal(ok.status, 200);
  });

  it('turns a hang into transient', async () => {
    fake.fail({ kind: 'hang' });
    await expectProviderError(customGatewayProvider.create(config, ctx({ timeoutMs: 200 })).send(sendRequest()), 'transient');
  });

  it('passes the challenge with a fresh random verification key each time', async () => {
    const validate = customGatewayProvider.validate;
    assert.ok(validate);
    await validate(config, ctx());
    await validate(config, ctx());
    const [a, b] = fake.requests.filter((r) => r.method === 'GET').slice(-2);
    assert.ok(a && b);
    assert.equal(header(a.headers, 'x-api-key'), KEY);
    assert.equal(header(a.headers, 'x-scheme'), 'otpgate-v1');
    assert.match(header(a.headers, 'x-verification-key') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(header(a.headers, 'x-verification-key'), header(b.headers, 'x-verification-key'));
  });

  it('says what came back when the challenge fails', async () => {
    fake.fail({ kind: 'wrong_key' });
    const wrong = await challengeFails('rejected');
    assert.equal(wrong.message, 'the gateway answered 200 with key "wrong" instead of the verification key');

    fake.fail({ kind: 'no_key' });
    assert.match((await challengeFails('rejected')).message, /200 without a string "key" field: "\{"ok":true\}"/);

    fake.fail({ kind: 'not_json' });
    assert.match((await challengeFails('rejected')).message, /200 but not with JSON: "<html><body>Welcome to nginx!/);

    assert.equal((await challengeFails('rejected', { ...config, uri: `${fake.url}/elsewhere` })).message, 'the gateway answered 404');
    assert.equal((await challengeFails('auth', { ...config, api_key: 'wrong' })).message, 'the gateway answered 401: it refused the API key');

    fake.fail({ kind: 'status', status: 503, body: 'x' });
    await challengeFails('transient');
    fake.fail({ kind: 'status', status: 204 });
    assert.match((await challengeFails('rejected')).message, /answered 204 \(the challenge needs exactly 200\)/);
    fake.fail({ kind: 'hang' });
    await challengeFails('transient', config, { timeoutMs: 200 });
  });

  it('truncates a long answer to one line', async () => {
    fake.fail({ kind: 'status', status: 200, body: `<html>\n${'a'.repeat(500)}\n</html>` });
    const err = await challengeFails('rejected');
    assert.ok(err.message.length < 200, err.message);
    assert.ok(!err.message.includes('\n'));
  });

  it('refuses loopback gateways when loopback is not allowed (production)', async () => {
    const validate = customGatewayProvider.validate;
    assert.ok(validate);
    const prod = { ...makeContext().ctx, http: createHttpClient({ allowLoopback: false }) };
    const err = await expectProviderError(validate(config, prod), 'auth');
    assert.ok(err instanceof ProviderError && /not allowed/.test(err.message));
  });
});

describe('Custom gateway signed calls', () => {
  const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
  const NEW = secret();
  const OLD = secret();
  let fake: CustomGatewayFake;
  let config: CustomGatewayConfig;
  const texts: string[] = [];
  const contexts: TestContext[] = [];

  before(async () => {
    fake = await startCustomGatewayFake({ apiKey: KEY, signingSecret: NEW });
    config = { uri: fake.uri, api_key: KEY, signing_secret: NEW };
  });
  after(async () => {
    await fake.close();
    const logs = contexts.flatMap((c) => c.logs);
    assert.ok(logs.length > 0);
    assertNothingLeaks([...texts, ...logs], [KEY, NEW, OLD, NEW.slice('whsec_'.length), OLD.slice('whsec_'.length)]);
  });
  // standardwebhooks checks the timestamp against the real time, so the clock starts there.
  function ctx() {
    const t = makeContext({ clock: createManualClock(Date.now()) });
    contexts.push(t);
    return t.ctx;
  }
  function headersOf(req: { headers: Record<string, string | string[] | undefined> }): Record<string, string> {
    return Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
  }

  it('signs each delivery with Standard Webhooks headers, the message id as webhook-id, and keeps X-API-Key', async () => {
    const request = sendRequest();
    const result = await customGatewayProvider.create(config, ctx()).send(request);
    assert.deepEqual(result, { providerMessageId: fake.messages.at(-1)?.id });
    const req = fake.requests.at(-1);
    assert.ok(req);
    assert.equal(header(req.headers, 'x-api-key'), KEY);
    assert.equal(header(req.headers, 'webhook-id'), request.messageId);
    assert.match(header(req.headers, 'webhook-timestamp') ?? '', /^\d{10}$/);
    assert.match(header(req.headers, 'webhook-signature') ?? '', /^v1,[A-Za-z0-9+/]{43}=$/);
    // The gateway's own check, as documented in docs/providers.md.
    assert.deepEqual(new Webhook(NEW).verify(req.body, headersOf(req)), { phone_number: TO, sender_id: '', message: BODY });
    assert.throws(() => new Webhook(OLD).verify(req.body, headersOf(req)));
    // A retry of the same message carries the same id (the gateway's idempotency key), freshly signed.
    await customGatewayProvider.create(config, ctx()).send({ ...request, signal: AbortSignal.timeout(5000) });
    assert.equal(header(fake.requests.at(-1)?.headers ?? {}, 'webhook-id'), request.messageId);
  });

  it('signs with both secrets while rotating, so a gateway holding either one verifies', async () => {
    await customGatewayProvider.create({ ...config, previous_signing_secret: OLD }, ctx()).send(sendRequest());
    const req = fake.requests.at(-1);
    assert.ok(req);
    assert.equal((header(req.headers, 'webhook-signature') ?? '').split(' ').length, 2);
    new Webhook(NEW).verify(req.body, headersOf(req));
    new Webhook(OLD).verify(req.body, headersOf(req));
  });

  it('a gateway checking signatures refuses a wrongly signed or unsigned call: auth', async () => {
    const wrong = await expectProviderError(customGatewayProvider.create({ ...config, signing_secret: OLD }, ctx()).send(sendRequest()), 'auth');
    const unsigned = await expectProviderError(customGatewayProvider.create({ uri: fake.uri, api_key: KEY }, ctx()).send(sendRequest()), 'auth');
    texts.push(wrong.message, unsigned.message);
    assert.equal(fake.messages.filter((m) => m.message === BODY).length, 3);
  });

  it('signs the validation challenge too (empty body, a fresh chk_ id)', async () => {
    const validate = customGatewayProvider.validate;
    assert.ok(validate);
    await validate(config, ctx());
    const req = fake.requests.at(-1);
    assert.ok(req && req.method === 'GET');
    assert.match(header(req.headers, 'webhook-id') ?? '', /^chk_[0-9a-f]{32}$/);
    new Webhook(NEW).verify('', headersOf(req));
    texts.push((await expectProviderError(validate({ ...config, signing_secret: OLD }, ctx()), 'auth')).message);
  });

  it('accepts only whsec_ secrets of 24 to 64 bytes, never echoes one, and masks them on read', () => {
    const issues = (v: string) => {
      const r = customGatewayProvider.configSchema.safeParse({ ...customGatewayFixtures.basic, signing_secret: v });
      return r.success ? null : JSON.stringify(r.error.issues);
    };
    assert.equal(issues(NEW), null);
    assert.equal(issues(`whsec_${randomBytes(24).toString('base64')}`), null);
    for (const bad of [NEW.slice('whsec_'.length), `whsec_${randomBytes(16).toString('base64')}`, `whsec_${randomBytes(65).toString('base64')}`, `${NEW}!`, 'v1,' + NEW]) {
      const found = issues(bad);
      assert.ok(found !== null, bad);
      texts.push(found);
      assert.ok(!found.includes(bad), found);
    }
    const masked = maskConfig(customGatewayProvider as never, { ...config, previous_signing_secret: OLD });
    assert.equal(masked['signing_secret'], '********');
    assert.equal(masked['previous_signing_secret'], '********');
  });
});

describe('Custom gateway configuration', () => {
  it('puts the uri path under an endpoint override', () => {
    assert.equal(customGatewayTarget(customGatewayFixtures.withSender), 'https://sms-gateway.example.com/otpgate?route=otp');
    assert.equal(
      customGatewayTarget({ ...customGatewayFixtures.withSender, endpoint: 'http://127.0.0.1:9999/base' }),
      'http://127.0.0.1:9999/base/otpgate?route=otp',
    );
  });
  it('requires an http(s) uri and an api key', () => {
    const parse = (c: Record<string, unknown>) => customGatewayProvider.configSchema.safeParse(c).success;
    assert.equal(parse(customGatewayFixtures.basic), true);
    assert.equal(parse({ ...customGatewayFixtures.basic, uri: 'ftp://x.example.com' }), false);
    assert.equal(parse({ ...customGatewayFixtures.basic, api_key: '' }), false);
    assert.equal(parse({ uri: customGatewayFixtures.basic.uri }), false);
  });
});
