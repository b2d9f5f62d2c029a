import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startTwilioFake, type TwilioFake } from '../fakes/twilio.js';
import { startMessageBirdFake, type MessageBirdFake } from '../fakes/messagebird.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { messageBirdFixtures } from '../../src/providers/messagebird/fixtures.js';

/**
 * `POST /v1/sms-provider/test` (issue 3 §5): sends now through the saved configuration or a
 * given, unsaved one, and answers what the provider said in words a user can act on. Pure
 * HTTP: SQLite only.
 */

const TW = twilioFixtures.withSenderNumber;
const MB = messageBirdFixtures.alphanumeric;
const GW_KEY = 'gw-test-sms-key-0123456789';
const PHONE = '+14155552671';

interface TestSmsAnswer {
  status: 'accepted' | 'failed';
  provider: string;
  message_id: string;
  provider_message_id: string | null;
  latency_ms: number;
  segments: number;
  error: null | { kind: string; provider_code: string | null; http_status: number | null; message: string };
  receipt: 'requested' | 'not_supported' | 'no_public_url' | 'unsaved_config' | 'not_sent';
}

describe('test SMS', () => {
  let t: TestApp;
  let twilio: TwilioFake;
  let mb: MessageBirdFake;
  let gw: CustomGatewayFake;
  const answers: string[] = [];
  before(async () => {
    twilio = await startTwilioFake({ accountSid: TW.account_sid, authToken: TW.auth_token });
    mb = await startMessageBirdFake({ accessKey: MB.access_key });
    gw = await startCustomGatewayFake({ apiKey: GW_KEY });
    t = await createTestApp({ env: { OTPGATE_LOG_LEVEL: 'trace' } });
  });
  after(async () => {
    await t.close();
    await Promise.all([twilio.close(), mb.close(), gw.close()]);
  });

  async function testSms(auth: string, body: unknown) {
    const res = await t.call('POST', '/v1/sms-provider/test', { auth, body });
    answers.push(res.body);
    return res;
  }

  test('through the saved configuration: accepted, with the provider message id, latency and segments', async () => {
    const { auth } = await t.createTenant({ app_name: 'Acme' });
    const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
    assert.equal(put.statusCode, 200, put.body);
    const n = twilio.messages.length;
    const res = await testSms(auth, { phone_number: PHONE });
    assert.equal(res.statusCode, 200, res.body);
    const a = res.json<TestSmsAnswer>();
    assert.equal(a.status, 'accepted');
    assert.equal(a.provider, 'Twilio');
    assert.equal(a.error, null);
    assert.equal(twilio.messages.length, n + 1);
    assert.equal(a.provider_message_id, twilio.messages.at(-1)!.sid);
    assert.match(a.provider_message_id ?? '', /^SM[0-9a-f]{32}$/);
    assert.equal(typeof a.latency_ms, 'number');
    assert.ok(a.latency_ms >= 0);
    assert.equal(a.segments, 1);
    assert.match(twilio.messages.at(-1)!.body, /Acme: this is a test message/);
    // The test message is in the message log, as a test.
    const m = (await t.call('GET', `/v1/messages/${a.message_id}`, { auth })).json();
    assert.equal(m.status, 'sent');
    assert.equal(m.kind, 'test');
    assert.equal(m.provider_message_id, a.provider_message_id);
    // This server has no OTPGATE_PUBLIC_URL: Twilio was told no callback, so no receipt will come.
    assert.equal(a.receipt, 'no_public_url');
    assert.equal(twilio.messages.at(-1)!.statusCallback, null);
  });

  test('whether a delivery receipt can follow, and why not: asked only through the saved configuration of a kind that sends them', async () => {
    const pub = await createTestApp({ env: { OTPGATE_PUBLIC_URL: 'https://otp.example.com' } });
    try {
      const { auth, tenantId } = await pub.createTenant();
      assert.equal((await pub.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } })).statusCode, 200);
      const saved = await pub.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE } });
      assert.equal(saved.json<TestSmsAnswer>().receipt, 'requested', saved.body);
      assert.equal(twilio.messages.at(-1)!.statusCallback, `https://otp.example.com/v1/callbacks/Twilio/${tenantId}`);
      const unsaved = await pub.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE, config: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } } });
      assert.equal(unsaved.json<TestSmsAnswer>().receipt, 'unsaved_config', unsaved.body);
      assert.equal(twilio.messages.at(-1)!.statusCallback, null);
      const gateway = await pub.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE, config: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY } } } });
      assert.equal(gateway.json<TestSmsAnswer>().receipt, 'not_supported', gateway.body);
    } finally {
      await pub.close();
    }
  });

  test('through a given, unsaved configuration; nothing is saved', async () => {
    const { auth } = await t.createTenant();
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
    const before = (await t.call('GET', '/cis/v1/tenantsmsproviders', { auth })).body;
    const n = mb.messages.length;
    const res = await testSms(auth, { phone_number: PHONE, config: { provider: 'MessageBird', messagebird: { ...MB, endpoint: mb.url } } });
    assert.equal(res.statusCode, 200, res.body);
    const a = res.json<TestSmsAnswer>();
    assert.equal(a.status, 'accepted', res.body);
    assert.equal(a.provider, 'MessageBird');
    assert.equal(mb.messages.length, n + 1);
    assert.equal(a.provider_message_id, mb.messages.at(-1)!.id);
    assert.equal(mb.messages.at(-1)!.recipients[0], PHONE.slice(1));
    assert.equal((await t.call('GET', '/cis/v1/tenantsmsproviders', { auth })).body, before, 'the unsaved configuration was saved');

    // An unsaved configuration of the saved kind may leave the secret out: the saved one is used.
    const sameKind = await testSms(auth, { phone_number: PHONE, config: { provider: 'Twilio', twilio: { account_sid: TW.account_sid, sender_phone_number: TW.sender_phone_number, endpoint: twilio.url } } });
    assert.equal(sameKind.json<TestSmsAnswer>().status, 'accepted', sameKind.body);
    // A gateway given unsaved is used as given.
    const g = await testSms(auth, { phone_number: PHONE, config: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY } } });
    assert.equal(g.json<TestSmsAnswer>().status, 'accepted', g.body);
    assert.equal(g.json<TestSmsAnswer>().provider_message_id, gw.messages.at(-1)!.id);
  });

  test('bad Twilio credentials: failed, kind auth, a message naming 20003 and the credentials', async () => {
    const { auth } = await t.createTenant();
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, auth_token: '0000000000000000000000000000dead', endpoint: twilio.url } } });
    for (const body of [
      { phone_number: PHONE },
      { phone_number: PHONE, config: { provider: 'Twilio', twilio: { ...TW, auth_token: '1111111111111111111111111111beef', endpoint: twilio.url } } },
    ]) {
      const res = await testSms(auth, body);
      assert.equal(res.statusCode, 200, res.body);
      const a = res.json<TestSmsAnswer>();
      assert.equal(a.status, 'failed');
      assert.equal(a.provider_message_id, null);
      assert.equal(a.error?.kind, 'auth');
      assert.equal(a.error?.provider_code, '20003');
      assert.equal(a.error?.http_status, 401);
      assert.match(a.error?.message ?? '', /20003/);
      assert.match(a.error?.message ?? '', /credentials/i);
      assert.match(a.error?.message ?? '', /Auth Token/);
      const m = (await t.call('GET', `/v1/messages/${a.message_id}`, { auth })).json();
      assert.equal(m.status, 'failed');
      assert.equal(m.error.kind, 'auth');
    }
  });

  test('other failures are explained too: a wrong MessageBird key, an unreachable gateway, a refused recipient', async () => {
    const { auth } = await t.createTenant();
    const wrongKey = (await testSms(auth, { phone_number: PHONE, config: { provider: 'MessageBird', messagebird: { ...MB, access_key: 'live_wrong', endpoint: mb.url } } })).json<TestSmsAnswer>();
    assert.equal(wrongKey.status, 'failed');
    assert.equal(wrongKey.error?.kind, 'auth');
    assert.match(wrongKey.error?.message ?? '', /access key/);

    const closed = await startCustomGatewayFake({ apiKey: GW_KEY });
    const uri = closed.uri;
    await closed.close();
    const down = (await testSms(auth, { phone_number: PHONE, config: { provider: 'CustomGateway', custom_gateway: { uri, api_key: GW_KEY } } })).json<TestSmsAnswer>();
    assert.equal(down.status, 'failed');
    assert.equal(down.error?.kind, 'transient');
    assert.match(down.error?.message ?? '', /could not reach/);

    const refused = (await testSms(auth, { phone_number: '+15005550009', config: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } })).json<TestSmsAnswer>();
    assert.equal(refused.status, 'failed');
    assert.equal(refused.error?.kind, 'invalid_recipient');
    assert.equal(refused.error?.provider_code, '21614');
    assert.match(refused.error?.message ?? '', /not a mobile number/);
  });

  test('bad input: an invalid unsaved configuration, an invalid number, no provider at all', async () => {
    const { auth } = await t.createTenant();
    const bad = await testSms(auth, { phone_number: PHONE, config: { provider: 'Twilio', twilio: { account_sid: 'nope', auth_token: 'x', sender_phone_number: '+15005550006' } } });
    assert.equal(bad.statusCode, 422, bad.body);
    assert.equal(bad.json().code, 'provider.invalid_config');
    assert.ok(bad.json().issues.some((i: { path: string }) => i.path === 'config.twilio.account_sid'), bad.body);
    const unknown = await testSms(auth, { phone_number: PHONE, config: { provider: 'Nexmo' } });
    assert.equal(unknown.statusCode, 422);
    assert.equal(unknown.json().code, 'provider.unknown_kind');
    const phone = await testSms(auth, { phone_number: '12' });
    assert.equal(phone.statusCode, 400, phone.body);
    assert.equal(phone.json().code, 'phone.invalid');
    const extra = await testSms(auth, { phone_number: PHONE, dry_run: true });
    assert.equal(extra.statusCode, 400, extra.body);

    // Production, nothing saved and no platform Default: 409 provider.not_configured.
    const prod = await createTestApp({ env: { OTPGATE_ENV: 'production' } });
    try {
      const p = await prod.createTenant();
      const res = await prod.call('POST', '/v1/sms-provider/test', { auth: p.auth, body: { phone_number: PHONE } });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'provider.not_configured');
    } finally {
      await prod.close();
    }
  });

  test('no secret in any answer or log line', () => {
    const all = answers.join('\n');
    const logs = t.logs.text();
    for (const secret of [TW.auth_token, MB.access_key, GW_KEY, '0000000000000000000000000000dead', '1111111111111111111111111111beef']) {
      assert.ok(!all.includes(secret), `an answer holds ${secret.slice(0, 6)}…`);
      assert.ok(!logs.includes(secret), `a log line holds ${secret.slice(0, 6)}…`);
    }
  });
});
