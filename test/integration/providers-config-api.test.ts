import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { messageBirdFixtures } from '../../src/providers/messagebird/fixtures.js';
import { sfmcFixtures } from '../../src/providers/salesforce-marketing-cloud/fixtures.js';

/**
 * The configuration API (issue 3 §3, §4): the custom gateway challenge on save, bad input,
 * the production SSRF rules, secrets kept out of answers, logs and the database file, and the
 * audit trail. A refused PUT changes nothing: the GET answer and the audit log stay as they were.
 * Pure HTTP: SQLite only.
 */

const TW = twilioFixtures.withSenderNumber;
const MB = messageBirdFixtures.alphanumeric;
const GW_KEY = 'gw-config-api-key-0123456789';
const OLD_GW_KEY = 'gw-old-config-key-9876543210';

type Problem = { status: number; code: string; detail: string; issues?: { path: string; message: string }[] };

/** Snapshot of everything a refused PUT must leave alone. */
async function snapshot(t: TestApp, auth: string, tenantId: string): Promise<{ config: string; audit: number }> {
  const config = (await t.call('GET', '/cis/v1/tenantsmsproviders', { auth })).body;
  const audit = (await t.call('GET', `/v1/tenants/${tenantId}/audit-log?limit=100`, { auth: adminAuth })).json<{ items: unknown[] }>().items.length;
  return { config, audit };
}

function sqliteBytes(t: TestApp): string {
  const file = t.dbUrl.slice('sqlite:'.length);
  const read = (p: string) => {
    try {
      return readFileSync(p);
    } catch {
      return Buffer.alloc(0);
    }
  };
  return Buffer.concat([read(file), read(`${file}-wal`)]).toString('latin1');
}

describe('custom gateway challenge through the API', () => {
  let t: TestApp;
  let gw: CustomGatewayFake;
  let oldGw: CustomGatewayFake;
  before(async () => {
    gw = await startCustomGatewayFake({ apiKey: GW_KEY });
    oldGw = await startCustomGatewayFake({ apiKey: OLD_GW_KEY, path: '/old' });
    t = await createTestApp({ env: { OTPGATE_LOG_LEVEL: 'trace' } });
  });
  after(async () => {
    await t.close();
    await Promise.all([gw.close(), oldGw.close()]);
  });

  test('a gateway that echoes the verification key is saved, and the challenge was the documented GET', async () => {
    const { auth } = await t.createTenant();
    const from = gw.requests.length;
    const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY } } });
    assert.equal(put.statusCode, 200, put.body);
    const challenge = gw.requests.slice(from);
    assert.equal(challenge.length, 1);
    assert.equal(challenge[0]!.method, 'GET');
    assert.equal(challenge[0]!.headers['x-api-key'], GW_KEY);
    assert.equal(challenge[0]!.headers['x-scheme'], 'otpgate-v1');
    assert.match(String(challenge[0]!.headers['x-verification-key']), /^[A-Za-z0-9_-]{43}$/);
    const get = (await t.call('GET', '/cis/v1/tenantsmsproviders', { auth })).json();
    assert.deepEqual(get.custom_gateway, { uri: gw.uri, api_key: '********' });
    // A fresh key each time.
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri } } });
    assert.notEqual(gw.requests.at(-1)!.headers['x-verification-key'], challenge[0]!.headers['x-verification-key']);
  });

  test('a signing secret: the challenge and sends are signed, rotation signs with both, the secrets are never shown', async () => {
    const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
    const [first, second] = [secret(), secret()];
    const signed = await startCustomGatewayFake({ apiKey: GW_KEY, signingSecret: first, path: '/signed' });
    try {
      const { auth } = await t.createTenant();
      const put = (custom_gateway: Record<string, unknown>) => t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway } });
      // A gateway that checks signatures refuses the unsigned challenge: nothing saved.
      const unsigned = await put({ uri: signed.uri, api_key: GW_KEY });
      assert.equal(unsigned.statusCode, 422, unsigned.body);
      assert.equal(unsigned.json<Problem>().code, 'provider.validation_failed');

      assert.equal((await put({ uri: signed.uri, api_key: GW_KEY, signing_secret: first })).statusCode, 200);
      const get = (await t.call('GET', '/cis/v1/tenantsmsproviders', { auth })).json();
      assert.deepEqual(get.custom_gateway, { uri: signed.uri, api_key: '********', signing_secret: '********' });
      const sent = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: '+14155552671' } });
      assert.equal(sent.statusCode, 200, sent.body);
      const answer = sent.json<{ status: string; message_id: string }>();
      assert.equal(answer.status, 'accepted', sent.body);
      assert.equal(signed.requests.at(-1)?.headers['webhook-id'], answer.message_id);

      // Rotation: the new secret signs beside the old one, so the gateway (still on the old one) accepts.
      const rotating = await put({ uri: signed.uri, signing_secret: second, previous_signing_secret: first });
      assert.equal(rotating.statusCode, 200, rotating.body);
      assert.equal(String(signed.requests.at(-1)?.headers['webhook-signature']).split(' ').length, 2);
      // Dropping the old one before the gateway moved to the new one fails the challenge.
      assert.equal((await put({ uri: signed.uri, previous_signing_secret: null })).statusCode, 422);

      const texts = [t.logs.text(), sqliteBytes(t), JSON.stringify(get), rotating.body];
      for (const s of [first, second]) for (const text of texts) assert.ok(!text.includes(s.slice('whsec_'.length)), 'a signing secret leaked');
    } finally {
      await signed.close();
    }
  });

  const failures: { name: string; arrange(): { uri: string; api_key: string } | Promise<{ uri: string; api_key: string }>; detail: RegExp; kind: string }[] = [
    {
      name: 'a wrong key echoed',
      arrange: () => {
        gw.fail({ kind: 'wrong_key', key: 'not-the-key' });
        return { uri: gw.uri, api_key: GW_KEY };
      },
      detail: /answered 200 with key "not-the-key" instead of the verification key/,
      kind: 'rejected',
    },
    {
      name: 'JSON without a key',
      arrange: () => {
        gw.fail({ kind: 'no_key' });
        return { uri: gw.uri, api_key: GW_KEY };
      },
      detail: /without a string "key" field: "\{"ok":true\}"/,
      kind: 'rejected',
    },
    {
      name: 'an HTML page instead of JSON',
      arrange: () => {
        gw.fail({ kind: 'not_json' });
        return { uri: gw.uri, api_key: GW_KEY };
      },
      detail: /not with JSON: ".*Welcome to nginx/,
      kind: 'rejected',
    },
    { name: 'a 404', arrange: () => ({ uri: `${gw.url}/nowhere`, api_key: GW_KEY }), detail: /answered 404/, kind: 'rejected' },
    { name: 'an API key the gateway refuses', arrange: () => ({ uri: gw.uri, api_key: 'wrong-gateway-key-000' }), detail: /answered 401: it refused the API key/, kind: 'auth' },
    {
      name: 'a 503',
      arrange: () => {
        gw.fail({ kind: 'status', status: 503, body: 'down for maintenance' });
        return { uri: gw.uri, api_key: GW_KEY };
      },
      detail: /answered 503/,
      kind: 'transient',
    },
    {
      name: 'an unreachable gateway',
      arrange: async () => {
        const gone = await startCustomGatewayFake({ apiKey: GW_KEY });
        await gone.close();
        return { uri: gone.uri, api_key: GW_KEY };
      },
      detail: /could not reach the gateway/,
      kind: 'transient',
    },
  ];

  for (const f of failures) {
    test(`the challenge fails (${f.name}): 422 provider.validation_failed saying what came back; the previous configuration stays`, async () => {
      const { auth, tenantId } = await t.createTenant();
      const old = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway: { uri: oldGw.uri, api_key: OLD_GW_KEY } } });
      assert.equal(old.statusCode, 200, old.body);
      const before = await snapshot(t, auth, tenantId);
      const config = await f.arrange();
      const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway: config } });
      assert.equal(res.statusCode, 422, res.body);
      const p = res.json<Problem & { provider_error?: { kind: string } }>();
      assert.equal(p.code, 'provider.validation_failed');
      assert.match(p.detail, f.detail);
      assert.equal(p.provider_error?.kind, f.kind);
      assert.ok(!res.body.includes(config.api_key), 'the answer holds the API key');
      assert.deepEqual(await snapshot(t, auth, tenantId), before, 'something changed');
      // The old gateway still delivers.
      const n = oldGw.messages.length;
      await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155552671' } });
      await t.drainOutbox();
      assert.equal(oldGw.messages.length, n + 1);
    });
  }

  test('a failing fallback gateway refuses the whole PUT', async () => {
    const { auth, tenantId } = await t.createTenant();
    const before = await snapshot(t, auth, tenantId);
    gw.fail({ kind: 'wrong_key' });
    const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', {
      auth,
      body: { provider: 'Twilio', twilio: TW, fallback: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY } } },
    });
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().code, 'provider.validation_failed');
    assert.match(res.json().detail, /fallback provider CustomGateway/);
    assert.deepEqual(await snapshot(t, auth, tenantId), before);
  });
});

describe('bad input through the API: 4xx with a clear code, nothing changed', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  const cases: { name: string; body: unknown; status: number; code: string; issue?: string; detail?: RegExp }[] = [
    { name: 'unknown kind', body: { provider: 'Nexmo', nexmo: {} }, status: 422, code: 'provider.unknown_kind', detail: /no provider kind "Nexmo".*Twilio/ },
    { name: 'unknown fallback kind', body: { provider: 'Twilio', twilio: TW, fallback: { provider: 'Vonage' } }, status: 422, code: 'provider.unknown_kind' },
    { name: 'no provider field', body: { twilio: TW }, status: 400, code: 'request.invalid', issue: 'provider' },
    { name: 'a missing secret', body: { provider: 'Twilio', twilio: { account_sid: TW.account_sid, sender_phone_number: TW.sender_phone_number } }, status: 422, code: 'provider.invalid_config', issue: 'twilio.auth_token' },
    // The saved access key is kept (same kind): only the originator is missing.
    { name: 'no settings at all', body: { provider: 'MessageBird' }, status: 422, code: 'provider.invalid_config', issue: 'messagebird.originator' },
    { name: 'no settings at all for a new kind', body: { provider: 'Textlocal' }, status: 422, code: 'provider.invalid_config', issue: 'textlocal.sender' },
    { name: 'neither sender nor Messaging Service', body: { provider: 'Twilio', twilio: { account_sid: TW.account_sid, auth_token: TW.auth_token } }, status: 422, code: 'provider.invalid_config', issue: 'twilio.sender_phone_number' },
    { name: 'a malformed Account SID', body: { provider: 'Twilio', twilio: { ...TW, account_sid: 'AC123' } }, status: 422, code: 'provider.invalid_config', issue: 'twilio.account_sid' },
    { name: 'wrong types', body: { provider: 'MessageBird', messagebird: { access_key: 12345, originator: true } }, status: 422, code: 'provider.invalid_config', issue: 'messagebird.originator' },
    { name: 'settings that are not an object', body: { provider: 'Twilio', twilio: 'AC…' }, status: 422, code: 'provider.invalid_config', issue: 'twilio' },
    { name: 'an unknown setting', body: { provider: 'Twilio', twilio: { ...TW, region: 'ie1' } }, status: 422, code: 'provider.invalid_config', issue: 'twilio' },
    { name: 'settings under the wrong key', body: { provider: 'Twilio', messagebird: MB }, status: 422, code: 'provider.invalid_config', issue: 'messagebird', detail: /go under "twilio"/ },
    { name: 'fallback settings under the wrong key', body: { provider: 'Twilio', twilio: TW, fallback: { provider: 'MessageBird', twilio: TW } }, status: 422, code: 'provider.invalid_config', issue: 'fallback.twilio' },
    { name: 'a gateway uri that is not a URL', body: { provider: 'CustomGateway', custom_gateway: { uri: 'not a url', api_key: GW_KEY } }, status: 422, code: 'provider.invalid_config', issue: 'custom_gateway.uri' },
    { name: 'a gateway uri of another scheme', body: { provider: 'CustomGateway', custom_gateway: { uri: 'ftp://example.com/gw', api_key: GW_KEY } }, status: 422, code: 'provider.invalid_config', issue: 'custom_gateway.uri' },
    { name: 'an endpoint that is not a URL', body: { provider: 'Twilio', twilio: { ...TW, endpoint: 'api.twilio.com' } }, status: 422, code: 'provider.invalid_config', issue: 'twilio.endpoint' },
    { name: 'an invalid Textlocal India sender', body: { provider: 'Textlocal', textlocal: { api_key: 'k', sender: 'OTP1', region: 'in' } }, status: 422, code: 'provider.invalid_config', issue: 'textlocal.sender' },
    { name: 'an unknown SFMC package type', body: { provider: 'SalesforceMarketingCloud', salesforce_marketing_cloud: { ...sfmcFixtures.enhanced, package_type: 'classic' } }, status: 422, code: 'provider.invalid_config', issue: 'salesforce_marketing_cloud.package_type' },
    { name: 'settings on Default', body: { provider: 'Default', twilio: TW }, status: 422, code: 'provider.invalid_config' },
    { name: 'a fallback with its own fallback', body: { provider: 'Twilio', twilio: TW, fallback: { provider: 'MessageBird', messagebird: MB, fallback: { provider: 'Twilio', twilio: TW } } }, status: 422, code: 'provider.invalid_config', issue: 'fallback.fallback' },
    { name: 'a fallback that is not an object', body: { provider: 'Twilio', twilio: TW, fallback: 'MessageBird' }, status: 422, code: 'provider.invalid_config', detail: /^fallback must be an object/ },
    { name: 'a body that is not an object', body: [{ provider: 'Twilio' }], status: 400, code: 'request.invalid' },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const { auth, tenantId } = await t.createTenant();
      const saved = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: MB } });
      assert.equal(saved.statusCode, 200, saved.body);
      const before = await snapshot(t, auth, tenantId);
      const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: c.body });
      assert.equal(res.statusCode, c.status, res.body);
      const p = res.json<Problem>();
      assert.equal(p.code, c.code, res.body);
      assert.match(String(res.headers['content-type'] ?? ''), /application\/problem\+json/);
      if (c.issue) assert.ok(p.issues?.some((i) => i.path === c.issue), `no issue at ${c.issue}: ${res.body}`);
      if (c.detail) assert.match(p.detail, c.detail);
      for (const secret of [TW.auth_token, MB.access_key, GW_KEY]) assert.ok(!res.body.includes(secret), 'the answer holds a secret');
      assert.deepEqual(await snapshot(t, auth, tenantId), before, 'something changed');
    });
  }

  test('a missing field is reported as required', async () => {
    const { auth } = await t.createTenant();
    const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { account_sid: TW.account_sid, sender_phone_number: TW.sender_phone_number } } });
    const issue = res.json<Problem>().issues?.find((i) => i.path === 'twilio.auth_token');
    assert.equal(issue?.message, 'required');
  });

  test('a PUT without the secret after a change of kind is refused (secrets are kept only for the same kind)', async () => {
    const { auth, tenantId } = await t.createTenant();
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: TW } });
    const before = await snapshot(t, auth, tenantId);
    const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { originator: 'OtpGate', access_key: '********' } } });
    assert.equal(res.statusCode, 422, res.body);
    assert.ok(res.json<Problem>().issues?.some((i) => i.path === 'messagebird.access_key'));
    assert.deepEqual(await snapshot(t, auth, tenantId), before);
  });

  test('Default without a platform provider (production, none configured) is refused', async () => {
    const prod = await createTestApp({ env: { OTPGATE_ENV: 'production' } });
    try {
      const { auth } = await prod.createTenant();
      const res = await prod.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Default' } });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'provider.not_configured');
    } finally {
      await prod.close();
    }
  });

  test('a tenant key reads and changes only its own configuration; the admin needs X-Tenant-Id', async () => {
    const a = await t.createTenant({}, 'A');
    const b = await t.createTenant({}, 'B');
    await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth: a.auth, body: { provider: 'MessageBird', messagebird: MB } });
    assert.equal((await t.call('GET', '/cis/v1/tenantsmsproviders', { auth: b.auth })).json().provider, 'Default');
    const noTenant = await t.call('GET', '/cis/v1/tenantsmsproviders', { auth: adminAuth });
    assert.equal(noTenant.statusCode, 400);
    assert.equal(noTenant.json().code, 'auth.tenant_required');
    const asAdmin = await t.call('GET', '/cis/v1/tenantsmsproviders', { auth: adminAuth, headers: { 'x-tenant-id': a.tenantId } });
    assert.equal(asAdmin.json().provider, 'MessageBird');
    assert.equal(asAdmin.json().messagebird.access_key, '********');
    assert.equal((await t.call('GET', '/cis/v1/tenantsmsproviders')).statusCode, 401);
  });
});

describe('production: only https to public addresses', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { OTPGATE_ENV: 'production', OTPGATE_LOG_LEVEL: 'trace' } });
  });
  after(async () => t.close());

  const forbidden = [
    'http://api.twilio.com',
    'https://10.0.0.5',
    'https://127.0.0.1:8443',
    'https://169.254.169.254/latest/meta-data',
    'https://192.168.1.10',
    'https://172.16.0.1',
    'https://100.64.0.1',
    'https://[::1]',
    'https://[::ffff:127.0.0.1]',
    'https://[fd00::1]',
    'https://0.0.0.0',
    'https://2130706433',
    'https://localhost',
    'https://user:pass@api.twilio.com',
  ];

  for (const url of forbidden) {
    test(`endpoint ${url} → 422 provider.endpoint_forbidden`, async () => {
      const { auth, tenantId } = await t.createTenant();
      await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: 'https://api.twilio.com' } } });
      const before = await snapshot(t, auth, tenantId);
      for (const body of [
        { provider: 'Twilio', twilio: { ...TW, endpoint: url } },
        { provider: 'Twilio', twilio: TW, fallback: { provider: 'SalesforceMarketingCloud', salesforce_marketing_cloud: { ...sfmcFixtures.enhanced, endpoint: url } } },
        { provider: 'CustomGateway', custom_gateway: { uri: `${url.replace(/\/$/, '')}/gw`, api_key: GW_KEY } },
      ]) {
        const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body });
        assert.equal(res.statusCode, 422, `${url}: ${res.body}`);
        assert.equal(res.json<Problem>().code, 'provider.endpoint_forbidden', res.body);
        assert.ok(res.json<Problem>().issues?.length, res.body);
      }
      // The unsaved configuration of a test SMS obeys the same rule.
      const test = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: '+14155552671', config: { provider: 'Twilio', twilio: { ...TW, endpoint: url } } } });
      assert.equal(test.statusCode, 422, test.body);
      assert.equal(test.json<Problem>().code, 'provider.endpoint_forbidden');
      assert.deepEqual(await snapshot(t, auth, tenantId), before);
    });
  }

  test('a public https endpoint is accepted', async () => {
    const { auth } = await t.createTenant();
    const res = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: 'https://api.dublin.ie1.twilio.com' } } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().twilio.endpoint, 'https://api.dublin.ie1.twilio.com');
  });

  test('no secret in the answers, the logs or the database file', async () => {
    const logs = t.logs.text();
    const bytes = sqliteBytes(t);
    assert.ok(!logs.includes(TW.auth_token));
    assert.ok(!bytes.includes(TW.auth_token), 'the Twilio token is in clear in the database file');
    assert.ok(!bytes.includes(sfmcFixtures.enhanced.client_secret));
  });
});

describe('every change is audited, without secrets', () => {
  let t: TestApp;
  let gw: CustomGatewayFake;
  before(async () => {
    gw = await startCustomGatewayFake({ apiKey: GW_KEY });
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
    await gw.close();
  });

  test('provider.updated entries: who, what, when, which secrets changed, never their values', async () => {
    const { auth, tenantId, keyId } = await t.createTenant();
    const put = (body: unknown, opts: { auth?: string; headers?: Record<string, string> } = { auth }) => t.call('PUT', '/cis/v1/tenantsmsproviders', { ...opts, body });
    assert.equal((await put({ provider: 'Twilio', twilio: TW })).statusCode, 200);
    assert.equal((await put({ provider: 'Twilio', twilio: { ...TW, auth_token: '********' }, fallback: { provider: 'MessageBird', messagebird: MB } })).statusCode, 200);
    assert.equal((await put({ provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY } }, { auth: adminAuth, headers: { 'x-tenant-id': tenantId } })).statusCode, 200);
    const res = await t.call('GET', `/v1/tenants/${tenantId}/audit-log`, { auth: adminAuth });
    assert.equal(res.statusCode, 200, res.body);
    for (const secret of [TW.auth_token, MB.access_key, GW_KEY]) assert.ok(!res.body.includes(secret), `the audit log holds ${secret.slice(0, 6)}…`);
    type Entry = { actor: string; action: string; target: string; created_at: string; details: { primary: Record<string, unknown>; fallback: Record<string, unknown> | null; secrets_changed: { primary: string[]; fallback: string[] } } };
    const entries = res.json<{ items: Entry[] }>().items.filter((e) => e.action === 'provider.updated').reverse();
    assert.equal(entries.length, 3);
    const [first, second, third] = entries as [Entry, Entry, Entry];
    assert.equal(first.actor, keyId);
    assert.equal(first.target, 'Twilio');
    assert.ok(!Number.isNaN(Date.parse(first.created_at)));
    assert.deepEqual(first.details.primary, { provider: 'Twilio', twilio: { ...TW, auth_token: '********' } });
    assert.deepEqual(first.details.secrets_changed, { primary: ['auth_token'], fallback: [] });
    assert.deepEqual(second.details.secrets_changed, { primary: [], fallback: ['access_key'] });
    assert.deepEqual(second.details.fallback, { provider: 'MessageBird', messagebird: { ...MB, access_key: '********' } });
    assert.equal(third.actor, 'admin');
    assert.equal(third.target, 'CustomGateway');
    assert.equal(third.details.fallback, null);
    assert.deepEqual(third.details.secrets_changed, { primary: ['api_key'], fallback: [] });
  });
});

describe('GET /v1/provider-kinds: every kind with its form fields', () => {
  // Self-contained block: its own imports, types and apps.
  type Field = { name: string; label: string; type: string; required: boolean; options?: string[]; default?: string; help?: string; placeholder?: string };
  type Kind = { id: string; configKey: string | null; displayName: string; fields: Field[]; available: boolean; receipts: boolean; receipts_supported: boolean; live_check: boolean };

  /** `name:type:required|optional`, written down from the kinds' contracts (PROVIDERS.md, DESIGN.md), not from the code. */
  const expectedFields: Record<string, string[]> = {
    Inbox: [],
    Twilio: ['account_sid:string:required', 'auth_token:secret:required', 'sender_phone_number:string:optional', 'messaging_service_sid:string:optional', 'endpoint:url:optional'],
    MessageBird: ['access_key:secret:required', 'originator:string:required', 'signing_key:secret:optional', 'endpoint:url:optional'],
    Textlocal: ['api_key:secret:optional', 'username:string:optional', 'hash:secret:optional', 'sender:string:required', 'region:enum:optional', 'endpoint:url:optional'],
    InstaAlerts: ['api_key:secret:required', 'sender_id:string:required', 'dlt_entity_id:string:optional', 'dlt_template_id:string:optional', 'endpoint:url:optional'],
    SalesforceMarketingCloud: [
      'subdomain:string:required',
      'client_id:string:required',
      'client_secret:secret:required',
      'message_id:string:required',
      'package_type:enum:optional',
      'keyword:string:required',
      'account_id:string:optional',
      'endpoint:url:optional',
    ],
    CustomGateway: ['uri:url:required', 'api_key:secret:required', 'sender_id:string:optional', 'signing_secret:secret:optional', 'previous_signing_secret:secret:optional', 'endpoint:url:optional'],
  };
  /** The secrets column of docs/providers.md. */
  const expectedSecrets: Record<string, string[]> = {
    Inbox: [],
    Twilio: ['auth_token'],
    MessageBird: ['access_key', 'signing_key'],
    Textlocal: ['api_key', 'hash'],
    InstaAlerts: ['api_key'],
    SalesforceMarketingCloud: ['client_secret'],
    CustomGateway: ['api_key', 'signing_secret', 'previous_signing_secret'],
  };
  /** Kinds that post delivery receipts to otpgate (PROVIDERS.md: status callbacks / reports / receipt URL). */
  const expectedReceipts = ['MessageBird', 'Textlocal', 'Twilio'];
  const expectedEnums: Record<string, { options: string[]; default: string }> = {
    'Textlocal.region': { options: ['uk', 'in'], default: 'uk' },
    'SalesforceMarketingCloud.package_type': { options: ['enhanced', 'legacy'], default: 'enhanced' },
  };

  async function kinds(env: Record<string, string> = {}): Promise<Kind[]> {
    const t = await createTestApp({ env });
    try {
      const res = await t.call('GET', '/v1/provider-kinds'); // public: the console asks before signing in
      assert.equal(res.statusCode, 200, res.body);
      const items = res.json<{ items: Kind[] }>().items;
      assert.ok(Array.isArray(items));
      return items;
    } finally {
      await t.close();
    }
  }

  test('Default first, then every kind of the registry once, each with its fields as the registry describes them', async () => {
    const { providerRegistry } = await import('../../src/providers/registry.js');
    const items = await kinds({ OTPGATE_PUBLIC_URL: 'https://otp.example.com' });
    assert.deepEqual(items.map((k) => k.id), ['Default', ...providerRegistry.keys()]);
    assert.deepEqual([...providerRegistry.keys()].sort(), Object.keys(expectedFields).sort(), 'a kind was added or removed: list its fields here');
    for (const k of items.slice(1)) {
      const d = providerRegistry.get(k.id)!;
      assert.equal(k.configKey, d.configKey, k.id);
      assert.equal(k.displayName, d.displayName, k.id);
      assert.equal(k.available, true, k.id);
      assert.equal(k.receipts, expectedReceipts.includes(k.id), `${k.id}: receipts`);
      assert.equal(k.receipts_supported, d.receipts !== undefined, `${k.id}: receipts_supported = the adapter has a receipts parser`);
      assert.equal(k.receipts, k.receipts_supported, `${k.id}: with a public URL, every kind that takes receipts is asked for them`);
      // Only the custom gateway is checked live on save (its challenge); the others for format.
      assert.equal(k.live_check, k.id === 'CustomGateway', `${k.id}: live_check`);
      assert.deepEqual(k.fields, JSON.parse(JSON.stringify(d.fields)), k.id);
      // Every form field is a setting the kind's schema takes, and (Inbox aside) every setting has a field.
      const shape = Object.keys((d.configSchema as unknown as { shape: Record<string, unknown> }).shape);
      for (const f of k.fields) assert.ok(shape.includes(f.name), `${k.id}.${f.name} is not a setting of the schema`);
      if (k.id !== 'Inbox') assert.deepEqual(k.fields.map((f) => f.name).sort(), shape.sort(), `${k.id}: a setting has no form field`);
    }
    const keys = items.map((k) => k.configKey).filter((c) => c !== null);
    assert.equal(new Set(keys).size, keys.length, 'config keys are unique');
  });

  test('field names, types and required flags; secrets typed secret; enums with their options', async () => {
    const items = await kinds();
    for (const k of items.filter((i) => i.id !== 'Default')) {
      assert.deepEqual(k.fields.map((f) => `${f.name}:${f.type}:${f.required ? 'required' : 'optional'}`), expectedFields[k.id], k.id);
      assert.deepEqual(k.fields.filter((f) => f.type === 'secret').map((f) => f.name), expectedSecrets[k.id], `${k.id}: secret fields`);
      for (const f of k.fields) {
        const where = `${k.id}.${f.name}`;
        assert.equal(typeof f.label, 'string', where);
        assert.ok(f.label.length > 0, `${where}: a label for the form`);
        assert.ok(['string', 'secret', 'url', 'enum'].includes(f.type), `${where}: type ${f.type}`);
        assert.equal(typeof f.required, 'boolean', where);
        if (f.type === 'secret') assert.equal(f.default, undefined, `${where}: a secret has no default value`);
        if (f.type === 'enum') {
          assert.deepEqual({ options: f.options, default: f.default }, expectedEnums[where], where);
        } else {
          assert.equal(f.options, undefined, `${where}: options only on enums`);
        }
      }
      // Every kind but Inbox takes the endpoint override, optional, last.
      const last = k.fields.at(-1);
      if (k.id !== 'Inbox') assert.deepEqual(last && { name: last.name, type: last.type, required: last.required }, { name: 'endpoint', type: 'url', required: false }, k.id);
    }
  });

  test('without OTPGATE_PUBLIC_URL no kind is asked for receipts: providers are told where to post them per message', async () => {
    const items = await kinds();
    for (const k of items) assert.equal(k.receipts, false, `${k.id}: receipts without a public URL`);
    assert.deepEqual(items.filter((k) => k.receipts_supported).map((k) => k.id).sort(), [...expectedReceipts].sort());
  });

  test('Default and Inbox have no fields; Default says whether the operator configured a platform provider', async () => {
    const dev = await kinds();
    const inbox = dev.find((k) => k.id === 'Inbox')!;
    assert.deepEqual(inbox.fields, []);
    assert.equal(inbox.configKey, 'inbox');
    const devDefault = dev.find((k) => k.id === 'Default')!;
    assert.deepEqual(devDefault, { id: 'Default', configKey: null, displayName: 'Platform default (Inbox)', fields: [], available: true, receipts_supported: false, receipts: false, live_check: false }, 'development: Inbox stands in');

    const explicit = (await kinds({ OTPGATE_DEFAULT_PROVIDER: 'Inbox' })).find((k) => k.id === 'Default')!;
    assert.deepEqual(explicit.fields, []);
    assert.equal(explicit.available, true);
    assert.match(explicit.displayName, /Inbox/);
    assert.equal(explicit.receipts, false);

    // Default sends receipts when the platform provider does, and there is a public URL for them.
    const twilio = (await kinds({ OTPGATE_DEFAULT_PROVIDER: 'Twilio', OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify(TW), OTPGATE_PUBLIC_URL: 'https://otp.example.com' })).find((k) => k.id === 'Default')!;
    assert.equal(twilio.available, true);
    assert.equal(twilio.receipts, true, 'Default follows the platform provider');
    const noUrl = (await kinds({ OTPGATE_DEFAULT_PROVIDER: 'Twilio', OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify(TW) })).find((k) => k.id === 'Default')!;
    assert.deepEqual([noUrl.receipts_supported, noUrl.receipts], [true, false], 'no public URL: no receipts asked for');

    const prod = await kinds({ OTPGATE_ENV: 'production' });
    const prodDefault = prod.find((k) => k.id === 'Default')!;
    assert.deepEqual(prodDefault.fields, []);
    assert.equal(prodDefault.available, false, 'production without OTPGATE_DEFAULT_PROVIDER: nothing to fall back to');
    assert.match(prodDefault.displayName, /not configured/);
    assert.equal(prodDefault.receipts, false);
    assert.deepEqual(prod.find((k) => k.id === 'Inbox')!.fields, []);
  });
});
