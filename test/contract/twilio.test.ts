import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twilioProvider } from '../../src/providers/twilio/index.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import type { TwilioConfig } from '../../src/providers/twilio/config.js';
import { CallbackSignatureError, type CallbackRequest } from '../../src/providers/types.js';
import { twilioErrors } from '../../src/providers/twilio/errors.js';
import { errorFromTable } from '../../src/providers/adapter-support.js';
import type { ProviderErrorKind } from '../../src/providers/provider-error.js';
import { parseUrlEncoded } from '../fakes/fake-server.js';
import { signTwilio, startTwilioFake, type TwilioFake } from '../fakes/twilio.js';
import { BODY, TO, assertNothingLeaks, expectProviderError, fieldsOf, header, makeContext, recordingHttp, sendRequest, type TestContext } from './support.js';

const SID = twilioFixtures.withSenderNumber.account_sid;
const TOKEN = twilioFixtures.withSenderNumber.auth_token;
const MG = twilioFixtures.withMessagingService.messaging_service_sid;
const CALLBACK = 'https://otp.example.com/v1/callbacks/twilio/ten_test';

describe('Twilio adapter against the fake', () => {
  let fake: TwilioFake;
  let config: TwilioConfig;
  const messages: string[] = [];
  const contexts: TestContext[] = [];

  before(async () => {
    fake = await startTwilioFake({ accountSid: SID, authToken: TOKEN, messagingServiceSids: [MG] });
    config = { ...twilioFixtures.withSenderNumber, endpoint: fake.url };
  });
  after(async () => {
    await fake.close();
    const logs = contexts.flatMap((c) => c.logs);
    assert.ok(logs.some((l) => l.includes('provider send failed')) && logs.some((l) => l.includes('provider accepted')));
    assertNothingLeaks([...messages, ...logs], [TOKEN, Buffer.from(`${SID}:${TOKEN}`).toString('base64')]);
  });

  function provider(cfg: TwilioConfig = config, opts: { timeoutMs?: number } = {}) {
    const t = makeContext(opts);
    contexts.push(t);
    return { p: twilioProvider.create(cfg, t.ctx), t };
  }
  async function failWith(kind: Parameters<typeof expectProviderError>[1], cfg?: TwilioConfig, req = sendRequest()) {
    const { p } = provider(cfg);
    const err = await expectProviderError(p.send(req), kind);
    messages.push(err.message);
    return err;
  }

  it('sends exactly the documented request and returns the sid and segments', async () => {
    const { p } = provider();
    const before = fake.requests.length;
    const result = await p.send(sendRequest({ statusCallbackUrl: CALLBACK }));
    const req = fake.requests[before];
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, `/2010-04-01/Accounts/${SID}/Messages.json`);
    assert.equal(header(req.headers, 'authorization'), `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    assert.equal(header(req.headers, 'content-type'), 'application/x-www-form-urlencoded');
    assert.equal(header(req.headers, 'accept'), 'application/json');
    assert.deepEqual(fieldsOf(parseUrlEncoded(req.body)), { To: TO, From: '+15005550006', Body: BODY, StatusCallback: CALLBACK });
    const sent = fake.messages.at(-1);
    assert.equal(result.providerMessageId, sent?.sid);
    assert.match(result.providerMessageId ?? '', /^SM[0-9a-f]{32}$/);
    assert.equal(result.segments, 1);
  });

  it('uses MessagingServiceSid (and no From) with a Messaging Service, and omits StatusCallback when none is given', async () => {
    const { p } = provider({ ...twilioFixtures.withMessagingService, endpoint: fake.url });
    await p.send(sendRequest());
    const req = fake.requests.at(-1);
    assert.deepEqual(fieldsOf(parseUrlEncoded(req?.body ?? '')), { To: TO, MessagingServiceSid: MG, Body: BODY });
  });

  it('reports the segments Twilio counted', async () => {
    const { p } = provider();
    const result = await p.send(sendRequest({ body: `${BODY} ${'x'.repeat(200)}` }));
    assert.equal(result.segments, 2);
  });

  it('maps wrong credentials (20003) to auth with an actionable message', async () => {
    const err = await failWith('auth', { ...config, auth_token: 'wrong-token-000000000000000000000' });
    assert.equal(err.providerCode, '20003');
    assert.equal(err.httpStatus, 401);
    assert.match(err.message, /^Twilio rejected the credentials.*\(20003\)$/);
  });

  const magic: Array<[string, string, Parameters<typeof expectProviderError>[1]]> = [
    ['+15005550001', '21211', 'invalid_recipient'],
    ['+15005550002', '21612', 'invalid_recipient'],
    ['+15005550003', '21408', 'rejected'],
    ['+15005550004', '21610', 'invalid_recipient'],
    ['+15005550009', '21614', 'invalid_recipient'],
  ];
  for (const [to, code, kind] of magic) {
    it(`maps magic To ${to} (${code}) to ${kind}`, async () => {
      const err = await failWith(kind, config, sendRequest({ to }));
      assert.equal(err.providerCode, code);
    });
  }

  const magicFrom: Array<[string, string, Parameters<typeof expectProviderError>[1]]> = [
    ['+15005550001', '21212', 'rejected'],
    ['+15005550007', '21606', 'rejected'],
    ['+15005550008', '21611', 'rate_limited'],
  ];
  for (const [from, code, kind] of magicFrom) {
    it(`maps magic From ${from} (${code}) to ${kind}`, async () => {
      const err = await failWith(kind, { ...config, sender_phone_number: from });
      assert.equal(err.providerCode, code);
    });
  }

  const injected: Array<[number, Parameters<typeof expectProviderError>[1]]> = [
    [21635, 'invalid_recipient'],
    [21608, 'rejected'],
    [21617, 'rejected'],
    [20404, 'auth'],
    [30500, 'transient'],
    [99999, 'rejected'],
  ];
  for (const [code, kind] of injected) {
    it(`maps error ${code} to ${kind}`, async () => {
      fake.fail({ kind: 'error', code });
      const err = await failWith(kind);
      assert.equal(err.providerCode, String(code));
    });
  }

  // Send-time codes that arrive synchronously, as Twilio's error JSON of a non-2xx answer.
  const synchronous: Array<[number, Parameters<typeof expectProviderError>[1], number]> = [
    [21604, 'rejected', 400],
    [21701, 'rejected', 404],
  ];
  for (const [code, kind, status] of synchronous) {
    it(`maps error ${code} (HTTP ${status}) to ${kind}`, async () => {
      fake.fail({ kind: 'error', code, status });
      const err = await failWith(kind);
      assert.equal(err.providerCode, String(code));
      assert.equal(err.httpStatus, status);
      assert.match(err.message, new RegExp(`^Twilio .*\\(${code}\\)$`));
    });
  }

  it('maps an unknown Messaging Service SID (the fake answers 21701) to rejected', async () => {
    const err = await failWith('rejected', { ...twilioFixtures.withMessagingService, messaging_service_sid: `MG${'f'.repeat(32)}`, endpoint: fake.url });
    assert.equal(err.providerCode, '21701');
    assert.equal(err.httpStatus, 404);
    assert.match(err.message, /Messaging Service SID/);
  });

  // Delivery-time codes: in a 201 whose message already failed (its `error_code`); the same
  // codes in status callbacks are checked in "Twilio status callbacks" below.
  const deliveryTime: Array<[number, 'failed' | 'undelivered', Parameters<typeof expectProviderError>[1]]> = [
    [30005, 'undelivered', 'invalid_recipient'],
    [30006, 'undelivered', 'invalid_recipient'],
    [30008, 'failed', 'rejected'],
    [30450, 'failed', 'rejected'],
  ];
  for (const [code, status, kind] of deliveryTime) {
    it(`maps a 201 with status ${status} and error_code ${code} to ${kind}`, async () => {
      fake.fail({ kind: 'failed_status', status, errorCode: code });
      const err = await failWith(kind);
      assert.equal(err.providerCode, String(code));
      assert.equal(err.httpStatus, 201);
    });
  }

  it('maps 20429 to rate_limited and honours Retry-After in seconds', async () => {
    fake.fail({ kind: 'error', code: 20429, retryAfter: '7' });
    const err = await failWith('rate_limited');
    assert.equal(err.retryAfterMs, 7000);
  });

  it('honours Retry-After as an HTTP date, against the injected clock', async () => {
    const { p, t } = provider();
    const at = new Date(t.clock.now() + 30_000).toUTCString();
    fake.fail({ kind: 'error', code: 20429, retryAfter: at });
    const err = await expectProviderError(p.send(sendRequest()), 'rate_limited');
    assert.equal(err.retryAfterMs, 30_000);
  });

  it('maps a 5xx without Twilio body to transient', async () => {
    fake.fail({ kind: 'status', status: 503, body: '<html>Service Unavailable</html>', headers: { 'retry-after': '2' } });
    const err = await failWith('transient');
    assert.equal(err.httpStatus, 503);
    assert.equal(err.retryAfterMs, 2000);
  });

  it('detects a 2xx answer whose status is failed or undelivered', async () => {
    fake.fail({ kind: 'failed_status', status: 'failed', errorCode: 30007 });
    const err = await failWith('rejected');
    assert.equal(err.providerCode, '30007');
    fake.fail({ kind: 'failed_status', status: 'undelivered', errorCode: 30003 });
    await failWith('invalid_recipient');
  });

  it('turns a hang into a transient timeout, and a reset into transient', async () => {
    fake.fail({ kind: 'hang' });
    const { p } = provider(config, { timeoutMs: 200 });
    const err = await expectProviderError(p.send(sendRequest()), 'transient');
    assert.match(err.message, /did not answer in time/);
    fake.fail({ kind: 'reset' });
    await failWith('transient');
  });

  it('stops when the caller aborts', async () => {
    fake.fail({ kind: 'hang' });
    const err = await failWith('transient', config, sendRequest({ signal: AbortSignal.timeout(100) }));
    assert.match(err.message, /aborted/);
  });

  it('refuses a recipient that is not E.164 without calling Twilio', async () => {
    const before = fake.requests.length;
    await failWith('invalid_recipient', config, sendRequest({ to: '07700900123' }));
    assert.equal(fake.requests.length, before);
  });

  it('the fake enforces the form contract: a JSON body gets 21604', async () => {
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${SID}/Messages.json`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ To: TO, From: '+15005550006', Body: 'x' }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: number }).code, 21604);
  });
});

describe('Twilio status callbacks', () => {
  const config: TwilioConfig = { ...twilioFixtures.withSenderNumber };

  function signed(url: string, params: Record<string, string>, token: string = TOKEN): CallbackRequest {
    return {
      method: 'POST',
      url,
      headers: { 'X-Twilio-Signature': signTwilio(url, params, token) },
      query: {},
      rawBody: new URLSearchParams(params).toString(),
    };
  }
  const sid = `SM${'ab'.repeat(16)}`;

  it('parses a signed callback from the fake into a receipt', async () => {
    const fake = await startTwilioFake({ accountSid: SID, authToken: TOKEN });
    try {
      const { p } = { p: twilioProvider.create({ ...config, endpoint: fake.url }, makeContext().ctx) };
      const { providerMessageId } = await p.send(sendRequest({ statusCallbackUrl: `${CALLBACK}?attempt=1` }));
      assert.ok(providerMessageId);
      const delivered = fake.statusCallback(providerMessageId, 'delivered', { rawDlrDoneDate: '2601011205' });
      assert.deepEqual(twilioProvider.receipts?.parse(config, delivered), [
        { providerMessageId, status: 'delivered', providerStatus: 'delivered', at: new Date(Date.UTC(2026, 0, 1, 12, 5)) },
      ]);
      const failed = fake.statusCallback(providerMessageId, 'undelivered', { errorCode: 30003 });
      assert.deepEqual(twilioProvider.receipts?.parse(config, failed), [
        { providerMessageId, status: 'undelivered', providerStatus: 'undelivered', providerErrorCode: '30003' },
      ]);
      assert.deepEqual(twilioProvider.receipts?.parse(config, fake.statusCallback(providerMessageId, 'queued')), []);
    } finally {
      await fake.close();
    }
  });

  // Callback-only codes (PROVIDERS.md §1.6): the receipt carries the code, and the code maps
  // through the same table as a synchronous error.
  const callbackCodes: Array<[number, 'failed' | 'undelivered', ProviderErrorKind]> = [
    [30003, 'undelivered', 'invalid_recipient'],
    [30005, 'undelivered', 'invalid_recipient'],
    [30006, 'undelivered', 'invalid_recipient'],
    [30007, 'undelivered', 'rejected'],
    [30008, 'failed', 'rejected'],
    [30450, 'failed', 'rejected'],
    [30500, 'failed', 'transient'],
  ];
  for (const [code, status, kind] of callbackCodes) {
    it(`parses a ${status} callback with ErrorCode ${code}, which maps to ${kind}`, async () => {
      const fake = await startTwilioFake({ accountSid: SID, authToken: TOKEN });
      try {
        const { providerMessageId } = await twilioProvider.create({ ...config, endpoint: fake.url }, makeContext().ctx).send(sendRequest({ statusCallbackUrl: CALLBACK }));
        assert.ok(providerMessageId);
        const [receipt] = twilioProvider.receipts?.parse(config, fake.statusCallback(providerMessageId, status, { errorCode: code })) ?? [];
        assert.deepEqual(receipt, { providerMessageId, status, providerStatus: status, providerErrorCode: String(code) });
        assert.equal(errorFromTable('Twilio', twilioErrors, receipt?.providerErrorCode, {}).kind, kind);
      } finally {
        await fake.close();
      }
    });
  }

  it('accepts a signature computed with or without the default port', () => {
    const params = { MessageSid: sid, MessageStatus: 'sent', AccountSid: SID };
    const withPort = signed('https://otp.example.com:443/v1/callbacks/twilio/ten_test', params);
    const parsed = twilioProvider.receipts?.parse(config, { ...withPort, url: CALLBACK });
    assert.equal(parsed?.[0]?.status, 'sent');
    const without = signed(CALLBACK, params);
    assert.equal(twilioProvider.receipts?.parse(config, { ...without, url: 'https://otp.example.com:443/v1/callbacks/twilio/ten_test' })?.[0]?.status, 'sent');
  });

  it('refuses a missing signature (missing=true) and a wrong one (missing=false)', () => {
    const params = { MessageSid: sid, MessageStatus: 'failed', ErrorCode: '30008' };
    const good = signed(CALLBACK, params);
    const missing = { ...good, headers: {} };
    assert.throws(() => twilioProvider.receipts?.parse(config, missing), (e: unknown) => e instanceof CallbackSignatureError && e.missing);
    const wrongToken = signed(CALLBACK, params, 'another-token');
    assert.throws(() => twilioProvider.receipts?.parse(config, wrongToken), (e: unknown) => e instanceof CallbackSignatureError && !e.missing);
    const tampered = { ...good, rawBody: good.rawBody.replace('failed', 'delivered') };
    assert.throws(() => twilioProvider.receipts?.parse(config, tampered), (e: unknown) => e instanceof CallbackSignatureError && !e.missing);
    const otherUrl = { ...good, url: `${CALLBACK}x` };
    assert.throws(() => twilioProvider.receipts?.parse(config, otherUrl), CallbackSignatureError);
    assert.equal(twilioProvider.receipts?.parse(config, good)?.[0]?.status, 'failed');
  });
});

describe('Twilio configuration', () => {
  it('requires exactly one sender', () => {
    const base = { account_sid: SID, auth_token: TOKEN };
    assert.equal(twilioProvider.configSchema.safeParse(base).success, false);
    const both = twilioProvider.configSchema.safeParse({ ...base, sender_phone_number: '+15005550006', messaging_service_sid: MG });
    assert.equal(both.success, false);
    assert.match(JSON.stringify(both.error?.issues), /exactly one of sender_phone_number or messaging_service_sid/);
    assert.equal(twilioProvider.configSchema.safeParse({ ...base, messaging_service_sid: MG }).success, true);
  });

  it('checks the SID formats, E.164 and unknown fields', () => {
    const ok = twilioFixtures.withSenderNumber;
    assert.equal(twilioProvider.configSchema.safeParse({ ...ok, account_sid: 'AC123' }).success, false);
    assert.equal(twilioProvider.configSchema.safeParse({ ...ok, sender_phone_number: '15005550006' }).success, false);
    assert.equal(twilioProvider.configSchema.safeParse({ ...ok, extra: 1 }).success, false);
    assert.equal(twilioProvider.configSchema.safeParse({ ...ok, endpoint: 'ftp://x' }).success, false);
  });

  it('sends to api.twilio.com by default', async () => {
    const { http, seen } = recordingHttp();
    const ctx = { ...makeContext().ctx, http };
    await expectProviderError(twilioProvider.create(twilioFixtures.withSenderNumber, ctx).send(sendRequest()), 'transient');
    assert.equal(seen[0]?.url, `https://api.twilio.com/2010-04-01/Accounts/${SID}/Messages.json`);
  });
});
