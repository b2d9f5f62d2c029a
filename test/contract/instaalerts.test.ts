import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { instaAlertsProvider, parseKarixAnswer } from '../../src/providers/instaalerts/index.js';
import { instaAlertsFixtures } from '../../src/providers/instaalerts/fixtures.js';
import type { InstaAlertsConfig } from '../../src/providers/instaalerts/config.js';
import type { ProviderErrorKind } from '../../src/providers/provider-error.js';
import { startInstaAlertsFake, type InstaAlertsFake } from '../fakes/instaalerts.js';
import { BODY, CODE, assertNothingLeaks, expectProviderError, fieldsOf, makeContext, recordingHttp, sendRequest, type TestContext } from './support.js';

const KEY = instaAlertsFixtures.plain.api_key;
const INDIA = '+919812345678';

describe('InstaAlerts adapter against the fake', () => {
  let fake: InstaAlertsFake;
  let config: InstaAlertsConfig;
  const messages: string[] = [];
  const contexts: TestContext[] = [];

  before(async () => {
    fake = await startInstaAlertsFake({ apiKey: KEY });
    config = { ...instaAlertsFixtures.indiaDlt, endpoint: fake.url };
  });
  after(async () => {
    await fake.close();
    const logs = contexts.flatMap((c) => c.logs);
    assert.ok(logs.length > 0);
    assertNothingLeaks([...messages, ...logs], [KEY, encodeURIComponent(KEY)]);
  });

  function provider(cfg: InstaAlertsConfig = config, opts: { timeoutMs?: number } = {}) {
    const t = makeContext(opts);
    contexts.push(t);
    return instaAlertsProvider.create(cfg, t.ctx);
  }
  async function failWith(kind: ProviderErrorKind, cfg: InstaAlertsConfig = config, req = sendRequest({ to: INDIA })) {
    const err = await expectProviderError(provider(cfg).send(req), kind);
    messages.push(err.message);
    return err;
  }

  it('sends exactly the documented query and returns the request id', async () => {
    const result = await provider().send(sendRequest({ to: INDIA }));
    const req = fake.requests.at(-1);
    assert.ok(req);
    assert.equal(req.method, 'GET');
    assert.equal(req.path, '/httpapi/QueryStringReceiver');
    assert.equal(req.body, '');
    assert.deepEqual(fieldsOf(req.query), {
      ver: '1.0',
      key: KEY,
      encrpt: '0',
      dest: '919812345678',
      send: 'OTPGTE',
      text: BODY,
      dlt_entity_id: instaAlertsFixtures.indiaDlt.dlt_entity_id,
      dlt_template_id: instaAlertsFixtures.indiaDlt.dlt_template_id,
    });
    assert.deepEqual(result, { providerMessageId: fake.messages.at(-1)?.requestId });
  });

  it('omits the DLT ids when not configured', async () => {
    await provider({ ...instaAlertsFixtures.plain, endpoint: fake.url }).send(sendRequest());
    const q = fieldsOf(fake.requests.at(-1)?.query ?? new Map());
    assert.equal('dlt_entity_id' in q || 'dlt_template_id' in q, false);
    assert.equal(q['dest'], '447700900123');
  });

  it('maps a wrong key (HTTP 200, statuscode 401) to auth', async () => {
    const err = await failWith('auth', { ...config, api_key: 'wrong' });
    assert.equal(err.providerCode, '401');
    assert.equal(err.httpStatus, 200);
    assert.match(err.message, /Invalid API key/);
  });

  it('detects HTTP-200 answers without the success code', async () => {
    // The fake's own check: an Indian number without DLT ids is refused.
    const dlt = await failWith('rejected', { ...instaAlertsFixtures.plain, endpoint: fake.url });
    assert.match(dlt.message, /DLT entity or template missing/);

    fake.fail({ kind: 'answer', statuscode: 400, info: 'Invalid destination number' });
    await failWith('invalid_recipient');
    fake.fail({ kind: 'answer', statuscode: 503, info: 'Service busy' });
    await failWith('transient');
    fake.fail({ kind: 'answer', statuscode: 429, info: 'Throttled' });
    await failWith('rate_limited');
    fake.fail({ kind: 'raw', body: 'ERROR: something went wrong' });
    const raw = await failWith('rejected');
    assert.match(raw.message, /without a status code/);
    fake.fail({ kind: 'raw', body: '' });
    await failWith('rejected');
  });

  // Answers with a `statuscode` of the table (HTTP 200 all of them).
  const codes: Array<[number, string, ProviderErrorKind]> = [
    [403, 'Access denied', 'auth'],
    [500, 'Internal server error', 'transient'],
  ];
  for (const [statuscode, info, kind] of codes) {
    it(`maps body statuscode ${statuscode} to ${kind}`, async () => {
      fake.fail({ kind: 'answer', statuscode, info });
      const err = await failWith(kind);
      assert.equal(err.providerCode, String(statuscode));
      assert.equal(err.httpStatus, 200);
      assert.match(err.message, new RegExp(`\\(${statuscode}\\): "${info}"$`));
    });
  }

  // Codes outside the table (or none): the answer's words decide, key/auth/IP wording first.
  const worded: Array<[number | undefined, string, ProviderErrorKind]> = [
    [400, 'Invalid key', 'auth'],
    [400, 'API key expired', 'auth'],
    [402, 'Authentication failed', 'auth'],
    [400, 'Unauthorised request', 'auth'],
    [400, 'IP not whitelisted', 'auth'],
    [407, 'Invalid credentials', 'auth'],
    [undefined, 'Unauthorized', 'auth'],
    [400, 'Invalid mobile number', 'invalid_recipient'],
    [400, 'Keyword not allowed', 'rejected'],
    [400, 'Sender skipped', 'rejected'],
  ];
  for (const [statuscode, info, kind] of worded) {
    it(`classifies ${statuscode === undefined ? 'an answer without a code' : `statuscode ${statuscode}`} saying "${info}" as ${kind}`, async () => {
      fake.fail(statuscode === undefined ? { kind: 'raw', body: `info=${encodeURIComponent(info)}` } : { kind: 'answer', statuscode, info });
      const err = await failWith(kind);
      assert.equal(err.providerCode, statuscode === undefined ? undefined : String(statuscode));
      assert.ok(err.message.includes(info), err.message);
    });
  }

  it('the fake refuses raw numbers that are not E.164 digits', async () => {
    for (const dest of ['+919812345678', '09812345678', '98123 45678', '91-9812345678', '91981234567890123']) {
      const query = new URLSearchParams({ ver: '1.0', key: KEY, encrpt: '0', dest, send: 'OTPGTE', text: 'x', dlt_entity_id: '1', dlt_template_id: '2' });
      const res = await fetch(`${fake.url}/httpapi/QueryStringReceiver?${query.toString()}`);
      assert.equal(res.status, 200);
      const answer = parseKarixAnswer(await res.text());
      assert.equal(answer.get('statuscode'), '400', dest);
      assert.equal(answer.get('info'), 'Invalid destination number', dest);
    }
    const sent = fake.messages.length;
    const ok = new URLSearchParams({ ver: '1.0', key: KEY, encrpt: '0', dest: '919812345678', send: 'OTPGTE', text: 'x', dlt_entity_id: '1', dlt_template_id: '2' });
    assert.equal(parseKarixAnswer(await (await fetch(`${fake.url}/httpapi/QueryStringReceiver?${ok.toString()}`)).text()).get('statuscode'), '200');
    assert.equal(fake.messages.length, sent + 1);
  });

  it('never echoes the text, the code or the key from the answer', async () => {
    fake.fail({ kind: 'raw', body: `statuscode=-5&info=Template mismatch for text ${BODY} ref ${KEY}` });
    const err = await failWith('rejected');
    assert.ok(!err.message.includes(CODE) && !err.message.includes(KEY), err.message);
    assert.match(err.message, /Template mismatch/);
  });

  it('maps HTTP errors by status, with Retry-After', async () => {
    fake.fail({ kind: 'status', status: 500, body: 'oops' });
    await failWith('transient');
    fake.fail({ kind: 'status', status: 429, body: '', headers: { 'retry-after': '5' } });
    const err = await failWith('rate_limited');
    assert.equal(err.retryAfterMs, 5000);
    fake.fail({ kind: 'status', status: 403, body: 'Forbidden' });
    await failWith('auth');
  });

  it('turns a hang into a transient timeout', async () => {
    fake.fail({ kind: 'hang' });
    await expectProviderError(provider(config, { timeoutMs: 200 }).send(sendRequest({ to: INDIA })), 'transient');
  });

  it('sends to japi.instaalerts.zone by default', async () => {
    const { http, seen } = recordingHttp();
    await expectProviderError(instaAlertsProvider.create(instaAlertsFixtures.plain, { ...makeContext().ctx, http }).send(sendRequest()), 'transient');
    assert.match(seen[0]?.url ?? '', /^https:\/\/japi\.instaalerts\.zone\/httpapi\/QueryStringReceiver\?ver=1\.0&/);
  });
});

describe('InstaAlerts answers', () => {
  it('reads pair and JSON answers', () => {
    const pairs = parseKarixAnswer('requestid=abc123&statuscode=200&info=Platform%20Accepted&time=2026-01-01 00:00:00');
    assert.equal(pairs.get('statuscode'), '200');
    assert.equal(pairs.get('requestid'), 'abc123');
    assert.equal(pairs.get('info'), 'Platform Accepted');
    const json = parseKarixAnswer('{"status":{"code":"200","desc":"Message received"},"ackid":"k-1"}');
    assert.equal(json.get('statuscode'), '200');
    assert.equal(json.get('requestid'), 'k-1');
  });
});
