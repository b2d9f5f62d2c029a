import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { messageBirdProvider } from '../../src/providers/messagebird/index.js';
import { messageBirdFixtures } from '../../src/providers/messagebird/fixtures.js';
import type { MessageBirdConfig } from '../../src/providers/messagebird/config.js';
import { CallbackSignatureError } from '../../src/providers/types.js';
import type { ProviderErrorKind } from '../../src/providers/provider-error.js';
import { startMessageBirdFake, type MessageBirdFake } from '../fakes/messagebird.js';
import { BODY, assertNothingLeaks, expectProviderError, header, makeContext, recordingHttp, sendRequest, type TestContext } from './support.js';

const KEY = messageBirdFixtures.alphanumeric.access_key;
const SIGNING_KEY = messageBirdFixtures.signed.signing_key;
const REPORT_URL = 'https://otp.example.com/v1/callbacks/messagebird/ten_test';

describe('MessageBird adapter against the fake', () => {
  let fake: MessageBirdFake;
  let config: MessageBirdConfig;
  const messages: string[] = [];
  const contexts: TestContext[] = [];

  before(async () => {
    fake = await startMessageBirdFake({ accessKey: KEY });
    config = { ...messageBirdFixtures.alphanumeric, endpoint: fake.url };
  });
  after(async () => {
    await fake.close();
    const logs = contexts.flatMap((c) => c.logs);
    assert.ok(logs.length > 0);
    assertNothingLeaks([...messages, ...logs], [KEY]);
  });

  function provider(cfg: MessageBirdConfig = config, opts: { timeoutMs?: number } = {}) {
    const t = makeContext(opts);
    contexts.push(t);
    return messageBirdProvider.create(cfg, t.ctx);
  }
  async function failWith(kind: ProviderErrorKind, cfg: MessageBirdConfig = config, req = sendRequest()) {
    const err = await expectProviderError(provider(cfg).send(req), kind);
    messages.push(err.message);
    return err;
  }

  it('sends exactly the documented request and returns the message id', async () => {
    const request = sendRequest({ statusCallbackUrl: REPORT_URL });
    const result = await provider().send(request);
    const req = fake.requests.at(-1);
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/messages');
    assert.equal(header(req.headers, 'authorization'), `AccessKey ${KEY}`);
    assert.equal(header(req.headers, 'content-type'), 'application/json');
    assert.deepEqual(JSON.parse(req.body), {
      recipients: ['447700900123'],
      originator: 'OtpGate',
      body: BODY,
      datacoding: 'auto',
      reference: request.messageId,
      reportUrl: REPORT_URL,
    });
    assert.equal(result.providerMessageId, fake.messages.at(-1)?.id);
    assert.match(result.providerMessageId ?? '', /^[0-9a-f]{32}$/);
  });

  it('sends a numeric originator as is, and no reportUrl when none is given', async () => {
    await provider({ ...messageBirdFixtures.numeric, endpoint: fake.url }).send(sendRequest());
    const body = JSON.parse(fake.requests.at(-1)?.body ?? '{}') as Record<string, unknown>;
    assert.equal(body['originator'], '31970102030');
    assert.equal('reportUrl' in body, false);
  });

  it('maps a wrong access key (2) to auth', async () => {
    const err = await failWith('auth', { ...config, access_key: 'live_wrong' });
    assert.equal(err.providerCode, '2');
    assert.equal(err.httpStatus, 401);
    assert.match(err.message, /^MessageBird rejected the access key.*\(2\)$/);
  });

  const table: Array<[number, string | undefined, ProviderErrorKind]> = [
    [25, undefined, 'rejected'],
    [9, 'recipient', 'invalid_recipient'],
    [10, 'recipient', 'invalid_recipient'],
    [10, 'originator', 'rejected'],
    [9, 'body', 'rejected'],
    [20, undefined, 'rejected'],
    [21, undefined, 'rejected'],
    [98, undefined, 'auth'],
    [99, undefined, 'transient'],
  ];
  for (const [code, parameter, kind] of table) {
    it(`maps error ${code}${parameter ? ` (${parameter})` : ''} to ${kind}`, async () => {
      fake.fail({ kind: 'error', code, parameter });
      const err = await failWith(kind);
      assert.equal(err.providerCode, String(code));
    });
  }

  it('picks the configuration fault when several errors come back', async () => {
    fake.fail({
      kind: 'status',
      status: 422,
      body: { errors: [{ code: 10, description: 'x', parameter: 'recipient' }, { code: 2, description: 'y', parameter: 'access_key' }] },
    });
    await failWith('auth');
  });

  it('maps 429 to rate_limited with Retry-After, and 5xx to transient', async () => {
    fake.fail({ kind: 'status', status: 429, body: { errors: [{ code: 21, description: 'Too many requests' }] }, headers: { 'retry-after': '3' } });
    const err = await failWith('rate_limited');
    assert.equal(err.retryAfterMs, 3000);
    fake.fail({ kind: 'status', status: 502, body: 'Bad Gateway' });
    await failWith('transient');
  });

  it('detects a 201 that sent nothing (totalSentCount 0)', async () => {
    fake.fail({ kind: 'zero_sent' });
    const err = await failWith('rejected');
    assert.match(err.message, /totalSentCount 0/);
  });

  it('turns a hang into a transient timeout', async () => {
    fake.fail({ kind: 'hang' });
    await expectProviderError(provider(config, { timeoutMs: 200 }).send(sendRequest()), 'transient');
  });

  it('the fake refuses a + in recipients with its own invalid-number error', async () => {
    const res = await fetch(`${fake.url}/messages`, {
      method: 'POST',
      headers: { authorization: `AccessKey ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ recipients: ['+447700900123'], originator: 'OtpGate', body: 'x' }),
    });
    assert.equal(res.status, 422);
    assert.deepEqual(((await res.json()) as { errors: unknown[] }).errors[0], { code: 10, description: 'no (correct) recipients found', parameter: 'recipient' });
  });

  it('reports the segments from recipients.items[].messagePartCount', async () => {
    assert.equal((await provider().send(sendRequest())).segments, 1);
    assert.equal((await provider().send(sendRequest({ body: `${BODY} ${'x'.repeat(200)}` }))).segments, 2);
    // Unicode text: 70 per single part, 67 per part after that.
    assert.equal((await provider().send(sendRequest({ body: `Ваш код ${'ж'.repeat(80)}` }))).segments, 2);
  });

  it('reports no segments when the items carry no messagePartCount (older accounts)', async () => {
    const id = 'e8077d803532c0b5937c639b60216938';
    fake.fail({
      kind: 'status',
      status: 201,
      body: { id, recipients: { totalCount: 1, totalSentCount: 1, items: [{ recipient: 447700900123, status: 'sent' }] } },
    });
    assert.deepEqual(await provider().send(sendRequest()), { providerMessageId: id });
  });

  it('the fake refuses a body that is neither JSON nor a form with its own bad-request error', async () => {
    const res = await fetch(`${fake.url}/messages`, {
      method: 'POST',
      headers: { authorization: `AccessKey ${KEY}`, 'content-type': 'text/plain' },
      body: JSON.stringify({ recipients: ['447700900123'], originator: 'OtpGate', body: 'x' }),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { errors: [{ code: 21, description: 'Bad request (unreadable body)', parameter: null }] });
    // Both documented body types are read (PROVIDERS.md §2.1).
    const form = await fetch(`${fake.url}/messages`, {
      method: 'POST',
      headers: { authorization: `AccessKey ${KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'recipients=447700900123&originator=OtpGate&body=x',
    });
    assert.equal(form.status, 201);
  });

  it('sends to rest.messagebird.com by default', async () => {
    const { http, seen } = recordingHttp();
    await expectProviderError(messageBirdProvider.create(messageBirdFixtures.alphanumeric, { ...makeContext().ctx, http }).send(sendRequest()), 'transient');
    assert.equal(seen[0]?.url, 'https://rest.messagebird.com/messages');
  });
});

describe('MessageBird status reports', () => {
  let fake: MessageBirdFake;
  let sentId: string;
  let reference: string;
  const now = Date.UTC(2026, 0, 1, 0, 0, 10);

  before(async () => {
    fake = await startMessageBirdFake({ accessKey: KEY });
    const request = sendRequest({ statusCallbackUrl: REPORT_URL });
    reference = request.messageId;
    const result = await messageBirdProvider.create({ ...messageBirdFixtures.signed, endpoint: fake.url }, makeContext().ctx).send(request);
    sentId = result.providerMessageId ?? '';
  });
  after(() => fake.close());

  it('parses an unsigned report when no signing key is configured', () => {
    const report = fake.statusReport(sentId, 'delivered');
    assert.deepEqual(messageBirdProvider.receipts?.parse(messageBirdFixtures.alphanumeric, report), [
      { providerMessageId: sentId, messageId: reference, status: 'delivered', providerStatus: 'delivered', at: new Date('2026-01-01T00:00:05Z') },
    ]);
  });

  it('maps statuses and carries the error code', () => {
    const parse = (status: string, code?: number) =>
      messageBirdProvider.receipts?.parse(messageBirdFixtures.alphanumeric, fake.statusReport(sentId, status, { statusErrorCode: code }))[0];
    assert.equal(parse('sent')?.status, 'sent');
    assert.equal(parse('buffered')?.status, 'sent');
    assert.equal(parse('expired')?.status, 'undelivered');
    const failed = parse('delivery_failed', 104);
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.providerErrorCode, '104');
    assert.equal(parse('scheduled'), undefined);
  });

  it('verifies the JWT when a signing key is configured', () => {
    const cfg = messageBirdFixtures.signed;
    const good = { ...fake.statusReport(sentId, 'delivered', { signingKey: SIGNING_KEY, nowMs: now }), now };
    assert.equal(messageBirdProvider.receipts?.parse(cfg, good)[0]?.status, 'delivered');

    const missing = { ...fake.statusReport(sentId, 'delivered'), now };
    assert.throws(() => messageBirdProvider.receipts?.parse(cfg, missing), (e: unknown) => e instanceof CallbackSignatureError && e.missing);

    const bad = (why: string, req: Parameters<NonNullable<typeof messageBirdProvider.receipts>['parse']>[1]) =>
      assert.throws(
        () => messageBirdProvider.receipts?.parse(cfg, req),
        (e: unknown) => e instanceof CallbackSignatureError && !e.missing,
        why,
      );
    bad('wrong key', { ...fake.statusReport(sentId, 'delivered', { signingKey: 'another-key', nowMs: now }), now });
    bad('url hash', { ...fake.statusReport(sentId, 'delivered', { signingKey: SIGNING_KEY, nowMs: now, tamper: 'url' }), now });
    bad('expired', { ...fake.statusReport(sentId, 'delivered', { signingKey: SIGNING_KEY, nowMs: now, tamper: 'expired' }), now });
    bad('issuer', { ...fake.statusReport(sentId, 'delivered', { signingKey: SIGNING_KEY, nowMs: now, tamper: 'issuer' }), now });
    bad('too late', { ...good, now: now + 400_000 });
    bad('changed query', { ...good, url: good.url.replace('status=delivered', 'status=expired') });
    bad('body without payload_hash', { ...good, rawBody: 'x=1' });
  });

  it('tolerates 5 s of clock skew', () => {
    const req = fake.statusReport(sentId, 'delivered', { signingKey: SIGNING_KEY, nowMs: now });
    // exp is iat + 300 s in the fake: 304 s later is inside the tolerance, 306 s is not.
    assert.equal(messageBirdProvider.receipts?.parse(messageBirdFixtures.signed, { ...req, now: now + 304_000 }).length, 1);
    assert.throws(() => messageBirdProvider.receipts?.parse(messageBirdFixtures.signed, { ...req, now: now + 306_000 }), CallbackSignatureError);
  });
});

describe('MessageBird configuration', () => {
  const ok = messageBirdFixtures.alphanumeric;
  const parse = (originator: string) => messageBirdProvider.configSchema.safeParse({ ...ok, originator }).success;
  it('accepts 3–11 alphanumerics with a letter, or up to 17 digits', () => {
    assert.equal(parse('Otp'), true);
    assert.equal(parse('OtpGate2026'), true);
    assert.equal(parse('12345678901234567'), true);
    assert.equal(parse('Ab'), false);
    assert.equal(parse('OtpGateLonger'), false);
    assert.equal(parse('123456789012345678'), false);
    assert.equal(parse('+31612345678'), false);
    assert.equal(parse('Otp-Gate'), false);
  });
});
