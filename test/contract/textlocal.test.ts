import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { textlocalProvider } from '../../src/providers/textlocal/index.js';
import { textlocalFixtures } from '../../src/providers/textlocal/fixtures.js';
import type { TextlocalConfig } from '../../src/providers/textlocal/config.js';
import type { ProviderErrorKind } from '../../src/providers/provider-error.js';
import { parseUrlEncoded } from '../fakes/fake-server.js';
import { startTextlocalFake, type TextlocalFake } from '../fakes/textlocal.js';
import { BODY, assertNothingLeaks, expectProviderError, fieldsOf, header, makeContext, recordingHttp, sendRequest, type TestContext } from './support.js';

const UK = textlocalFixtures.ukApiKey;
const IN = textlocalFixtures.indiaHash;
const RECEIPT_URL = 'https://otp.example.com/v1/callbacks/textlocal/ten_test';

describe('Textlocal adapter against the fake', () => {
  let uk: TextlocalFake;
  let india: TextlocalFake;
  let config: TextlocalConfig;
  const messages: string[] = [];
  const contexts: TestContext[] = [];

  before(async () => {
    uk = await startTextlocalFake({ region: 'uk', apiKey: UK.api_key });
    india = await startTextlocalFake({ region: 'in', username: IN.username, hash: IN.hash });
    config = { ...UK, endpoint: uk.url };
  });
  after(async () => {
    await uk.close();
    await india.close();
    const logs = contexts.flatMap((c) => c.logs);
    assert.ok(logs.length > 0);
    assertNothingLeaks([...messages, ...logs], [UK.api_key, IN.hash]);
  });

  function provider(cfg: TextlocalConfig = config, opts: { timeoutMs?: number } = {}) {
    const t = makeContext(opts);
    contexts.push(t);
    return textlocalProvider.create(cfg, t.ctx);
  }
  async function failWith(kind: ProviderErrorKind, cfg: TextlocalConfig = config, req = sendRequest()) {
    const err = await expectProviderError(provider(cfg).send(req), kind);
    messages.push(err.message);
    return err;
  }

  it('sends exactly the documented form and returns the message id and parts', async () => {
    const request = sendRequest({ statusCallbackUrl: RECEIPT_URL });
    const result = await provider().send(request);
    const req = uk.requests.at(-1);
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/send/');
    assert.equal(header(req.headers, 'content-type'), 'application/x-www-form-urlencoded');
    assert.deepEqual(fieldsOf(parseUrlEncoded(req.body)), {
      apikey: UK.api_key,
      numbers: '447700900123',
      message: BODY,
      sender: 'OtpGate',
      custom: request.messageId,
      receipt_url: RECEIPT_URL,
    });
    assert.deepEqual(result, { providerMessageId: uk.messages.at(-1)?.id, segments: 1 });
  });

  it('authenticates with username and hash (India)', async () => {
    const request = sendRequest({ to: '+919812345678' });
    await provider({ ...IN, endpoint: india.url }).send(request);
    assert.deepEqual(fieldsOf(parseUrlEncoded(india.requests.at(-1)?.body ?? '')), {
      username: IN.username,
      hash: IN.hash,
      numbers: '919812345678',
      message: BODY,
      sender: 'OTPGTE',
      custom: request.messageId,
    });
  });

  it('maps invalid login details (3) to auth', async () => {
    const err = await failWith('auth', { ...config, api_key: 'wrong' });
    assert.equal(err.providerCode, '3');
    assert.equal(err.httpStatus, 200);
  });

  const table: Array<[number, ProviderErrorKind]> = [
    [7, 'rejected'],
    [32, 'invalid_recipient'],
    [51, 'invalid_recipient'],
    [4, 'invalid_recipient'],
    [80, 'rejected'],
    [43, 'rejected'],
    [192, 'rejected'],
    [6, 'rejected'],
    [202, 'invalid_recipient'],
    [1, 'auth'],
    [2, 'auth'],
    [5, 'rejected'],
    [8, 'rejected'],
    [9, 'rejected'],
    [10, 'rejected'],
    [11, 'rejected'],
    [33, 'rejected'],
    [34, 'rejected'],
    [44, 'rejected'],
    [191, 'rejected'],
    [999, 'rejected'],
  ];
  for (const [code, kind] of table) {
    it(`detects the HTTP-200 failure with code ${code} as ${kind}`, async () => {
      uk.fail({ kind: 'error', code });
      const err = await failWith(kind);
      assert.equal(err.providerCode, String(code));
      assert.equal(err.httpStatus, 200);
    });
  }

  it('maps a wrong endpoint path (the fake answers 2, unrecognised command) to auth', async () => {
    const err = await failWith('auth', { ...config, endpoint: `${uk.url}/api` });
    assert.equal(err.providerCode, '2');
    assert.match(err.message, /check the endpoint/);
  });

  it('keeps a success with warning 3 when a message id came back, and notes it in the log', async () => {
    uk.fail({ kind: 'warning', code: 3 });
    const t = makeContext();
    contexts.push(t);
    const request = sendRequest();
    const result = await textlocalProvider.create(config, t.ctx).send(request);
    assert.equal(result.providerMessageId, uk.messages.at(-1)?.id);
    const noted = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'provider accepted the message with warnings');
    assert.ok(noted, 'the warning is logged');
    assert.equal(noted['messageId'], request.messageId);
    assert.deepEqual(noted['warnings'], ['3']);
    assert.equal(noted['level'], 40);
  });

  it('maps warning 3 with no message id (the number was dropped) to invalid_recipient', async () => {
    const sent = uk.messages.length;
    uk.fail({ kind: 'warning', code: 3, dropRecipients: true });
    const err = await failWith('invalid_recipient');
    assert.equal(err.providerCode, 'warning 3');
    assert.equal(err.httpStatus, 200);
    assert.match(err.message, /dropped the number as invalid \(warning 3\)/);
    assert.equal(uk.messages.length, sent, 'the fake sent nothing');
  });

  it('keeps a success with another warning and no per-recipient id (batch id as the message id)', async () => {
    uk.fail({ kind: 'warning', code: 7, message: 'Low balance', dropRecipients: true });
    const result = await provider().send(sendRequest());
    assert.match(result.providerMessageId ?? '', /^\d+$/);
  });

  it('the fake itself refuses a bad sender (43) and a + in numbers (32)', async () => {
    const err = await failWith('rejected', { ...IN, sender: 'TOOLONG1', endpoint: india.url }, sendRequest({ to: '+919812345678' }));
    assert.equal(err.providerCode, '43');
    const res = await fetch(`${uk.url}/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `apikey=${encodeURIComponent(UK.api_key)}&numbers=%2B447700900123&message=x&sender=OtpGate`,
    });
    assert.deepEqual(await res.json(), { errors: [{ code: 32, message: 'Invalid number format' }], status: 'failure' });
  });

  it('the fake reads only form bodies (or GET queries): a JSON body gets no command (1)', async () => {
    const res = await fetch(`${uk.url}/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apikey: UK.api_key, numbers: '447700900123', message: 'x', sender: 'OtpGate' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { errors: [{ code: 1, message: 'No command specified' }], status: 'failure' });
    const form = await fetch(`${uk.url}/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `apikey=${encodeURIComponent(UK.api_key)}&numbers=447700900123&message=x&sender=OtpGate&test=true`,
    });
    assert.equal(((await form.json()) as { status: string }).status, 'success');
  });

  it('maps an outage page by its status: 503 transient, 429 rate_limited with Retry-After', async () => {
    uk.fail({ kind: 'status', status: 503, body: '<html>down</html>' });
    await failWith('transient');
    uk.fail({ kind: 'status', status: 429, body: 'slow down', headers: { 'retry-after': '11' } });
    const err = await failWith('rate_limited');
    assert.equal(err.retryAfterMs, 11_000);
  });

  it('turns a hang into a transient timeout', async () => {
    uk.fail({ kind: 'hang' });
    await expectProviderError(provider(config, { timeoutMs: 200 }).send(sendRequest()), 'transient');
  });

  it('picks the regional default host', async () => {
    for (const [cfg, url] of [
      [UK, 'https://api.txtlocal.com/send/'],
      [IN, 'https://api.textlocal.in/send/'],
    ] as const) {
      const { http, seen } = recordingHttp();
      await expectProviderError(textlocalProvider.create(cfg, { ...makeContext().ctx, http }).send(sendRequest()), 'transient');
      assert.equal(seen[0]?.url, url);
    }
  });
});

describe('Textlocal receipts', () => {
  it('parses D/U/I/? receipts and matches them by our reference', async () => {
    const fake = await startTextlocalFake({ region: 'uk', apiKey: UK.api_key });
    try {
      const request = sendRequest({ statusCallbackUrl: RECEIPT_URL });
      const { providerMessageId } = await textlocalProvider.create({ ...UK, endpoint: fake.url }, makeContext().ctx).send(request);
      assert.ok(providerMessageId);
      const parse = (s: 'D' | 'U' | 'I' | '?') => textlocalProvider.receipts?.parse(UK, fake.receipt(providerMessageId, s));
      assert.deepEqual(parse('D'), [
        {
          providerMessageId: request.messageId,
          messageId: request.messageId,
          status: 'delivered',
          providerStatus: 'D',
          at: new Date(Date.UTC(2026, 0, 1, 0, 0, 7)),
        },
      ]);
      assert.equal(parse('U')?.[0]?.status, 'undelivered');
      assert.equal(parse('I')?.[0]?.status, 'failed');
      assert.equal(parse('?')?.[0]?.status, 'sent');
    } finally {
      await fake.close();
    }
  });
});

describe('Textlocal configuration', () => {
  const parse = (c: Record<string, unknown>) => textlocalProvider.configSchema.safeParse(c);
  it('needs an API key or username and hash, not both', () => {
    assert.equal(parse({ sender: 'OtpGate' }).success, false);
    assert.equal(parse({ username: 'a@b.c', sender: 'OtpGate' }).success, false);
    assert.equal(parse({ ...UK, username: 'a@b.c', hash: 'h' }).success, false);
    assert.equal(parse({ username: 'a@b.c', hash: 'h', sender: 'OtpGate' }).success, true);
  });
  it('defaults the region to uk and applies the regional sender rules', () => {
    const parsed = parse({ api_key: 'k', sender: 'OtpGate' });
    assert.equal(parsed.success && (parsed.data as TextlocalConfig).region, 'uk');
    assert.equal(parse({ api_key: 'k', sender: '4477009001234' }).success, true);
    assert.equal(parse({ api_key: 'k', sender: '44770090012345' }).success, false);
    assert.equal(parse({ api_key: 'k', sender: 'OtpGate', region: 'in' }).success, false);
    assert.equal(parse({ api_key: 'k', sender: 'OTPGTE', region: 'in' }).success, true);
    assert.equal(parse({ api_key: 'k', sender: 'OTPGT1', region: 'in' }).success, false);
  });
});
