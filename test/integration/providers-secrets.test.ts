import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { hostname } from 'node:os';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { startFakeServer, type FakeServer } from '../fakes/fake-server.js';
import { startTwilioFake, type TwilioFake } from '../fakes/twilio.js';
import { startMessageBirdFake, type MessageBirdFake } from '../fakes/messagebird.js';
import { startTextlocalFake, type TextlocalFake } from '../fakes/textlocal.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';
import { checkOutboundUrl, isAddressAllowed } from '../../src/providers/http.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { messageBirdFixtures } from '../../src/providers/messagebird/fixtures.js';
import { textlocalFixtures } from '../../src/providers/textlocal/fixtures.js';
import { sfmcFixtures } from '../../src/providers/salesforce-marketing-cloud/fixtures.js';

/**
 * Stored secrets and where they go (docs/providers.md "Secrets and endpoints"): a stored secret
 * is merged back into a configuration that leaves it out only while everything that decides
 * where it is sent is unchanged and the configuration keeps the same auth mode; `null` removes
 * an optional secret; host names are resolved on save with the HTTP client's address rules.
 * A refused PUT changes nothing. Pure HTTP: SQLite only.
 */

const TW = twilioFixtures.withSenderNumber;
const MB = messageBirdFixtures.signed;
const TL = textlocalFixtures.ukApiKey;
const TL_LOGIN = { username: 'ops@example.com', hash: 'fakehash0123456789abcdef0123456789abcdef' };
const SF = sfmcFixtures.enhanced;
const GW_KEY = 'gw-secrets-key-0123456789abcdef';
const PHONE = '+14155552671';

type Problem = { status: number; code: string; detail: string; issues?: { path: string; message: string }[] };

async function snapshot(t: TestApp, auth: string, tenantId: string): Promise<{ config: string; audit: number }> {
  const config = (await t.call('GET', '/cis/v1/tenantsmsproviders', { auth })).body;
  const audit = (await t.call('GET', `/v1/tenants/${tenantId}/audit-log?limit=100`, { auth: adminAuth })).json<{ items: unknown[] }>().items.length;
  return { config, audit };
}

function assertResendIssue(res: { statusCode: number; body: string; json<T>(): T }, path: string, changed: string): void {
  assert.equal(res.statusCode, 422, res.body);
  const p = res.json<Problem>();
  assert.equal(p.code, 'provider.invalid_config', res.body);
  const issue = p.issues?.find((i) => i.path === path);
  assert.ok(issue, `no issue at ${path}: ${res.body}`);
  assert.match(issue.message, /must be given again because the destination changed/);
  assert.ok(issue.message.includes(changed), res.body);
  assert.match(p.detail, /must be given again/);
}

describe('a stored secret is reused only for the destination it was saved for', () => {
  let t: TestApp;
  let twilio: TwilioFake;
  let twilio2: TwilioFake;
  let other: FakeServer;
  let gw: CustomGatewayFake;
  let secrets: string[];
  before(async () => {
    twilio = await startTwilioFake({ accountSid: TW.account_sid, authToken: TW.auth_token });
    twilio2 = await startTwilioFake({ accountSid: TW.account_sid, authToken: TW.auth_token });
    other = await startFakeServer(() => ({ status: 200, body: { key: 'whatever' } }));
    gw = await startCustomGatewayFake({ apiKey: GW_KEY });
    t = await createTestApp({ env: { OTPGATE_LOG_LEVEL: 'trace' } });
    secrets = [TW.auth_token, GW_KEY, SF.client_secret];
  });
  after(async () => {
    await t.close();
    await Promise.all([twilio.close(), twilio2.close(), other.close(), gw.close()]);
  });

  test('a PUT that changes only the endpoint and leaves the secret out (or masked) is refused; nothing changes, the other server gets nothing', async () => {
    const { auth, tenantId } = await t.createTenant();
    const saved = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
    assert.equal(saved.statusCode, 200, saved.body);
    const before = await snapshot(t, auth, tenantId);
    const { auth_token: _, ...noToken } = TW;
    for (const twilioConfig of [{ ...noToken, endpoint: other.url }, { ...TW, auth_token: '********', endpoint: other.url }, noToken]) {
      const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: twilioConfig } });
      assertResendIssue(res, 'twilio.auth_token', 'endpoint');
      for (const s of secrets) assert.ok(!res.body.includes(s), 'the answer holds a secret');
    }
    assert.deepEqual(await snapshot(t, auth, tenantId), before, 'something changed');
    // The saved configuration still sends, to the saved endpoint, with the saved token.
    const n = twilio.messages.length;
    const send = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE } });
    assert.equal(send.json().status, 'accepted', send.body);
    assert.equal(twilio.messages.length, n + 1);
    assert.equal(other.requests.length, 0, 'the other server was called');
  });

  test('the same for a fallback, a gateway uri and an SFMC subdomain', async () => {
    const { auth, tenantId } = await t.createTenant();
    const saved = await t.call('PUT', '/cis/v1/tenantsmsproviders', {
      auth,
      body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY }, fallback: { provider: 'SalesforceMarketingCloud', salesforce_marketing_cloud: SF } },
    });
    assert.equal(saved.statusCode, 200, saved.body);
    const before = await snapshot(t, auth, tenantId);
    const { client_secret: _, ...noSecret } = SF;
    const sfmc = { provider: 'SalesforceMarketingCloud', salesforce_marketing_cloud: noSecret };
    const gateway = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway: { uri: `${other.url}/otpgate` }, fallback: sfmc } });
    assertResendIssue(gateway, 'custom_gateway.api_key', 'uri');
    const gatewayEndpoint = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, endpoint: other.url }, fallback: sfmc } });
    assertResendIssue(gatewayEndpoint, 'custom_gateway.api_key', 'endpoint');
    const subdomain = await t.call('PUT', '/cis/v1/tenantsmsproviders', {
      auth,
      body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri }, fallback: { provider: 'SalesforceMarketingCloud', salesforce_marketing_cloud: { ...noSecret, subdomain: 'attacker-tenant' } } },
    });
    assertResendIssue(subdomain, 'fallback.salesforce_marketing_cloud.client_secret', 'subdomain');
    const sfEndpoint = await t.call('PUT', '/cis/v1/tenantsmsproviders', {
      auth,
      body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri }, fallback: { provider: 'SalesforceMarketingCloud', salesforce_marketing_cloud: { ...noSecret, endpoint: other.url } } },
    });
    assertResendIssue(sfEndpoint, 'fallback.salesforce_marketing_cloud.client_secret', 'endpoint');
    assert.deepEqual(await snapshot(t, auth, tenantId), before, 'something changed');
    assert.equal(other.requests.length, 0, 'the other server was called (a gateway challenge?)');
    // Unchanged destinations keep both stored secrets.
    const same = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, sender_id: 'Acme' }, fallback: sfmc } });
    assert.equal(same.statusCode, 200, same.body);
    assert.equal(gw.requests.at(-1)!.headers['x-api-key'], GW_KEY, 'the challenge did not carry the stored key');
    const stored = await t.deps.providers.configsFor(tenantId, 'SalesforceMarketingCloud');
    assert.equal(stored[0]?.client_secret, SF.client_secret);
  });

  test('with the secret given again, the new endpoint is accepted and used', async () => {
    const { auth, tenantId } = await t.createTenant();
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
    const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio2.url } } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().twilio.endpoint, twilio2.url);
    assert.equal(res.json().twilio.auth_token, '********');
    const n = twilio2.messages.length;
    const send = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE } });
    assert.equal(send.json().status, 'accepted', send.body);
    assert.equal(twilio2.messages.length, n + 1);
    const audit = (await t.call('GET', `/v1/tenants/${tenantId}/audit-log`, { auth: adminAuth })).json<{ items: { action: string; details: { secrets_changed: unknown } }[] }>();
    assert.deepEqual(audit.items.find((e) => e.action === 'provider.updated')?.details.secrets_changed, { primary: [], fallback: [] });
  });

  test('an unchanged endpoint keeps the stored secret (left out or masked)', async () => {
    const { auth, tenantId } = await t.createTenant();
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
    const { auth_token: _, ...noToken } = TW;
    for (const cfg of [{ ...noToken, endpoint: twilio.url }, { ...TW, auth_token: '********', endpoint: twilio.url }]) {
      const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: cfg } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().twilio.auth_token, '********');
      assert.equal((await t.deps.providers.configsFor(tenantId, 'Twilio'))[0]?.auth_token, TW.auth_token);
      const n = twilio.messages.length;
      const send = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE } });
      assert.equal(send.json().status, 'accepted', send.body);
      assert.equal(twilio.messages.length, n + 1);
    }
    // A saved default destination (no endpoint) is unchanged when the endpoint is still left out.
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: TL } });
    const { api_key: __, ...noKey } = TL;
    const { region: ___, ...noRegion } = noKey;
    const kept = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: noRegion } });
    assert.equal(kept.statusCode, 200, kept.body);
    assert.equal((await t.deps.providers.configsFor(tenantId, 'Textlocal'))[0]?.api_key, TL.api_key);
    // Another region is another host.
    const region = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: { ...noKey, sender: 'OTPGTE', region: 'in' } } });
    assertResendIssue(region, 'textlocal.api_key', 'region');
  });

  test('a test SMS with an unsaved configuration pointing elsewhere and no secret is refused; the other server gets nothing', async () => {
    const { auth, tenantId } = await t.createTenant();
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
    const before = await snapshot(t, auth, tenantId);
    const messages = (await t.call('GET', '/v1/messages', { auth })).body;
    const { auth_token: _, ...noToken } = TW;
    for (const cfg of [{ ...noToken, endpoint: other.url }, { ...TW, auth_token: '********', endpoint: other.url }]) {
      const res = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE, config: { provider: 'Twilio', twilio: cfg } } });
      assertResendIssue(res, 'config.twilio.auth_token', 'endpoint');
      assert.ok(!res.body.includes(TW.auth_token));
    }
    assert.equal(other.requests.length, 0, 'the other server received a request');
    assert.deepEqual(await snapshot(t, auth, tenantId), before);
    assert.equal((await t.call('GET', '/v1/messages', { auth })).body, messages, 'a message was logged');
    // With the secret, the unsaved configuration goes where it says.
    const n = twilio2.messages.length;
    const ok = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE, config: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio2.url } } } });
    assert.equal(ok.json().status, 'accepted', ok.body);
    assert.equal(twilio2.messages.length, n + 1);
  });

  test('no secret in any log line', () => {
    const logs = t.logs.text();
    for (const s of secrets) assert.ok(!logs.includes(s), `a log line holds ${s.slice(0, 6)}…`);
  });
});

describe('optional secrets can be removed, and auth modes switched', () => {
  let t: TestApp;
  let mb: MessageBirdFake;
  let tl: TextlocalFake;
  before(async () => {
    mb = await startMessageBirdFake({ accessKey: MB.access_key });
    tl = await startTextlocalFake({ region: 'uk', apiKey: TL.api_key, ...TL_LOGIN });
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
    await Promise.all([mb.close(), tl.close()]);
  });

  test('a MessageBird signing_key: kept when left out, removed by null, "" refused', async () => {
    const { auth, tenantId } = await t.createTenant();
    const stored = async () => (await t.deps.providers.configsFor(tenantId, 'MessageBird'))[0];
    assert.equal((await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { ...MB, endpoint: mb.url } } })).statusCode, 200);
    const left = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { originator: MB.originator, endpoint: mb.url } } });
    assert.equal(left.statusCode, 200, left.body);
    assert.equal(left.json().messagebird.signing_key, '********');
    assert.equal((await stored())?.signing_key, MB.signing_key);

    const before = await snapshot(t, auth, tenantId);
    const empty = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { originator: MB.originator, signing_key: '', endpoint: mb.url } } });
    assert.equal(empty.statusCode, 422, empty.body);
    assert.ok(empty.json<Problem>().issues?.some((i) => i.path === 'messagebird.signing_key'), empty.body);
    assert.deepEqual(await snapshot(t, auth, tenantId), before);

    const removed = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { originator: MB.originator, signing_key: null, endpoint: mb.url } } });
    assert.equal(removed.statusCode, 200, removed.body);
    assert.equal(removed.json().messagebird.signing_key, undefined);
    assert.equal(removed.json().messagebird.access_key, '********');
    assert.deepEqual(await stored(), { access_key: MB.access_key, originator: MB.originator, endpoint: mb.url });
    const audit = (await t.call('GET', `/v1/tenants/${tenantId}/audit-log`, { auth: adminAuth })).json<{ items: { action: string; details: { secrets_changed: unknown } }[] }>();
    assert.deepEqual(audit.items.find((e) => e.action === 'provider.updated')?.details.secrets_changed, { primary: ['signing_key'], fallback: [] });
    // It stays removed, and status reports are accepted unsigned again.
    const again = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { originator: MB.originator, endpoint: mb.url } } });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal((await stored())?.signing_key, undefined);
    // null for a required secret is "required".
    const required = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { originator: MB.originator, access_key: null, endpoint: mb.url } } });
    assert.equal(required.statusCode, 422, required.body);
    assert.equal(required.json<Problem>().issues?.find((i) => i.path === 'messagebird.access_key')?.message, 'required');
  });

  test('a signing key is never sent, so it is kept when the endpoint changes (the access key must be given)', async () => {
    const { auth, tenantId } = await t.createTenant();
    assert.equal((await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: MB } })).statusCode, 200);
    const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { access_key: MB.access_key, originator: MB.originator, endpoint: mb.url } } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await t.deps.providers.configsFor(tenantId, 'MessageBird'))[0]?.signing_key, MB.signing_key);
  });

  test('Textlocal switches from api_key to username + hash and back', async () => {
    const { auth, tenantId } = await t.createTenant();
    const stored = async () => (await t.deps.providers.configsFor(tenantId, 'Textlocal'))[0];
    const { api_key: _, ...base } = { ...TL, endpoint: tl.url };
    assert.equal((await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: { ...base, api_key: TL.api_key } } })).statusCode, 200);

    const toLogin = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: { ...base, ...TL_LOGIN } } });
    assert.equal(toLogin.statusCode, 200, toLogin.body);
    assert.deepEqual(toLogin.json().textlocal, { ...base, username: TL_LOGIN.username, hash: '********' });
    assert.deepEqual(await stored(), { ...base, ...TL_LOGIN });
    let n = tl.messages.length;
    assert.equal((await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE } })).json().status, 'accepted');
    assert.equal(tl.messages.length, n + 1);

    // Same mode: the hash is kept; the console may also send the old api_key mask back.
    for (const cfg of [{ ...base, username: TL_LOGIN.username }, { ...base, username: TL_LOGIN.username, hash: '********', api_key: '********' }]) {
      const same = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: cfg } });
      assert.equal(same.statusCode, 200, same.body);
      assert.deepEqual(await stored(), { ...base, ...TL_LOGIN });
    }

    const toKey = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: { ...base, api_key: TL.api_key } } });
    assert.equal(toKey.statusCode, 200, toKey.body);
    assert.deepEqual(await stored(), { ...base, api_key: TL.api_key });
    const audit = (await t.call('GET', `/v1/tenants/${tenantId}/audit-log`, { auth: adminAuth })).json<{ items: { action: string; details: { secrets_changed: { primary: string[] } } }[] }>();
    assert.deepEqual(audit.items.find((e) => e.action === 'provider.updated')?.details.secrets_changed.primary.sort(), ['api_key', 'hash']);
    n = tl.messages.length;
    assert.equal((await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE } })).json().status, 'accepted');
    assert.equal(tl.messages.length, n + 1);

    // Both modes given at once is still refused.
    const both = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: { ...base, api_key: TL.api_key, ...TL_LOGIN } } });
    assert.equal(both.statusCode, 422, both.body);
    assert.match(both.body, /not both/);
    // A login without its hash does not fall back to the stored api_key.
    const half = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: { ...base, username: TL_LOGIN.username } } });
    assert.equal(half.statusCode, 422, half.body);
    assert.deepEqual(await stored(), { ...base, api_key: TL.api_key });
  });
});

/** A host name (not caught by the literal checks) that resolves here to an address production refuses. */
async function privateName(): Promise<string | undefined> {
  const prod = { allowLoopback: false };
  for (const name of [hostname(), 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']) {
    if (checkOutboundUrl(`https://${name}`, prod) !== null) continue;
    const addresses = await dns.promises.lookup(name, { all: true }).catch(() => []);
    if (addresses.some((a) => !isAddressAllowed(a.address, prod))) return name;
  }
  return undefined;
}

describe('production: host names are resolved on save', () => {
  let t: TestApp;
  let name: string | undefined;
  before(async () => {
    name = await privateName();
    t = await createTestApp({ env: { OTPGATE_ENV: 'production' } });
  });
  after(async () => t.close());

  test('https://localhost. (a fully qualified localhost) is refused', async () => {
    const { auth, tenantId } = await t.createTenant();
    const before = await snapshot(t, auth, tenantId);
    const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: 'https://localhost.' } } });
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json<Problem>().code, 'provider.endpoint_forbidden');
    assert.deepEqual(await snapshot(t, auth, tenantId), before);
  });

  test('a name that resolves to a loopback or private address → 422 provider.endpoint_forbidden, nothing saved or sent', async (ctx) => {
    if (!name) return ctx.skip('no host name here resolves to a non-public address');
    const { auth, tenantId } = await t.createTenant();
    const saved = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: 'https://api.twilio.com' } } });
    assert.equal(saved.statusCode, 200, saved.body);
    const before = await snapshot(t, auth, tenantId);
    const cases: { body: unknown; issue: string }[] = [
      { body: { provider: 'Twilio', twilio: { ...TW, endpoint: `https://${name}` } }, issue: 'twilio.endpoint' },
      { body: { provider: 'Twilio', twilio: { ...TW, endpoint: `https://${name}:8443/base` } }, issue: 'twilio.endpoint' },
      { body: { provider: 'Twilio', twilio: TW, fallback: { provider: 'MessageBird', messagebird: { ...MB, endpoint: `https://${name}` } } }, issue: 'fallback.messagebird.endpoint' },
      { body: { provider: 'CustomGateway', custom_gateway: { uri: `https://${name}/gw`, api_key: GW_KEY } }, issue: 'custom_gateway.uri' },
    ];
    for (const c of cases) {
      const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: c.body });
      assert.equal(res.statusCode, 422, res.body);
      const p = res.json<Problem>();
      assert.equal(p.code, 'provider.endpoint_forbidden', res.body);
      assert.ok(p.issues?.some((i) => i.path === c.issue), res.body);
      assert.match(p.detail, /resolves to .*not public/);
    }
    const testSms = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE, config: { provider: 'Twilio', twilio: { ...TW, endpoint: `https://${name}` } } } });
    assert.equal(testSms.statusCode, 422, testSms.body);
    assert.equal(testSms.json<Problem>().code, 'provider.endpoint_forbidden');
    assert.ok(testSms.json<Problem>().issues?.some((i) => i.path === 'config.twilio.endpoint'), testSms.body);
    assert.deepEqual(await snapshot(t, auth, tenantId), before);
  });

  test('a name that does not resolve (yet) is saved: the HTTP client checks again on connect', async () => {
    const { auth } = await t.createTenant();
    const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: 'https://otpgate-test.invalid' } } });
    assert.equal(res.statusCode, 200, res.body);
  });
});
