import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { startTwilioFake, type TwilioFake } from '../fakes/twilio.js';
import { startMessageBirdFake, type MessageBirdFake } from '../fakes/messagebird.js';
import { startTextlocalFake, type TextlocalFake } from '../fakes/textlocal.js';
import { startInstaAlertsFake, type InstaAlertsFake } from '../fakes/instaalerts.js';
import { startSfmcFake, type SfmcFake } from '../fakes/salesforce-marketing-cloud.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { messageBirdFixtures } from '../../src/providers/messagebird/fixtures.js';
import { textlocalFixtures } from '../../src/providers/textlocal/fixtures.js';
import { instaAlertsFixtures } from '../../src/providers/instaalerts/fixtures.js';
import { sfmcFixtures } from '../../src/providers/salesforce-marketing-cloud/fixtures.js';

/**
 * End to end per provider (issue 3): PUT the configuration with `endpoint` (or `uri`) pointing
 * at the provider's fake, send a passcode, drain the outbox, check the fake got a valid request
 * carrying the code, verify it; GET masks every secret; a PUT that leaves the secrets out keeps
 * them (the next send still authenticates against the fake).
 */

const US = '+14155552671';
const IN = '+919876543210';
const MASK = '********';
const GW_KEY = 'gw-e2e-key-0123456789abcdef';

interface Received {
  to: string;
  text: string;
}

interface Case {
  name: string;
  provider: string;
  key: string;
  phone: string;
  /** How the fake sees the recipient. */
  wireTo: string;
  /** The configuration as PUT, with every secret. */
  config: () => Record<string, unknown>;
  secrets: Record<string, string>;
  received: () => Received[];
}

interface Fakes {
  twilio: TwilioFake;
  mb: MessageBirdFake;
  tlKey: TextlocalFake;
  tlHash: TextlocalFake;
  tlIn: TextlocalFake;
  insta: InstaAlertsFake;
  sfmc: SfmcFake;
  gw: CustomGatewayFake;
}

const TW = twilioFixtures.withSenderNumber;
const TWS = twilioFixtures.withMessagingService;
const MB = messageBirdFixtures.alphanumeric;
const TLK = textlocalFixtures.ukApiKey;
const TLH = { ...textlocalFixtures.indiaHash, region: 'uk' as const, sender: 'OtpGate' };
const TLI = { ...textlocalFixtures.indiaHash };
const IA = instaAlertsFixtures.indiaDlt;
const SE = sfmcFixtures.enhanced;
const SL = sfmcFixtures.legacy;

function cases(f: Fakes): Case[] {
  const twilioReceived = () => f.twilio.messages.map((m) => ({ to: m.to, text: m.body }));
  const textlocal = (fake: TextlocalFake) => () => fake.messages.map((m) => ({ to: m.number, text: m.message }));
  const sfmcReceived = () => f.sfmc.sends.map((s) => ({ to: s.mobileNumbers.join(','), text: s.messageText }));
  return [
    {
      name: 'Twilio with a sender number',
      provider: 'Twilio',
      key: 'twilio',
      phone: US,
      wireTo: US,
      config: () => ({ ...TW, endpoint: f.twilio.url }),
      secrets: { auth_token: TW.auth_token },
      received: twilioReceived,
    },
    {
      name: 'Twilio with a Messaging Service',
      provider: 'Twilio',
      key: 'twilio',
      phone: US,
      wireTo: US,
      config: () => ({ ...TWS, endpoint: f.twilio.url }),
      secrets: { auth_token: TWS.auth_token },
      received: twilioReceived,
    },
    {
      name: 'MessageBird',
      provider: 'MessageBird',
      key: 'messagebird',
      phone: US,
      wireTo: US.slice(1),
      config: () => ({ ...MB, endpoint: f.mb.url }),
      secrets: { access_key: MB.access_key },
      received: () => f.mb.messages.map((m) => ({ to: m.recipients.join(','), text: m.body })),
    },
    {
      name: 'Textlocal with an API key',
      provider: 'Textlocal',
      key: 'textlocal',
      phone: US,
      wireTo: US.slice(1),
      config: () => ({ ...TLK, endpoint: f.tlKey.url }),
      secrets: { api_key: TLK.api_key },
      received: textlocal(f.tlKey),
    },
    {
      name: 'Textlocal with username and hash',
      provider: 'Textlocal',
      key: 'textlocal',
      phone: US,
      wireTo: US.slice(1),
      config: () => ({ ...TLH, endpoint: f.tlHash.url }),
      secrets: { hash: TLH.hash },
      received: textlocal(f.tlHash),
    },
    {
      name: 'Textlocal, region in',
      provider: 'Textlocal',
      key: 'textlocal',
      phone: IN,
      wireTo: IN.slice(1),
      config: () => ({ ...TLI, endpoint: f.tlIn.url }),
      secrets: { hash: TLI.hash },
      received: textlocal(f.tlIn),
    },
    {
      name: 'InstaAlerts (India, DLT ids)',
      provider: 'InstaAlerts',
      key: 'instaalerts',
      phone: IN,
      wireTo: IN.slice(1),
      config: () => ({ ...IA, endpoint: f.insta.url }),
      secrets: { api_key: IA.api_key },
      received: () => f.insta.messages.map((m) => ({ to: m.dest, text: m.text })),
    },
    {
      name: 'Salesforce Marketing Cloud, enhanced package',
      provider: 'SalesforceMarketingCloud',
      key: 'salesforce_marketing_cloud',
      phone: US,
      wireTo: US.slice(1),
      config: () => ({ ...SE, endpoint: f.sfmc.url }),
      secrets: { client_secret: SE.client_secret },
      received: sfmcReceived,
    },
    {
      name: 'Salesforce Marketing Cloud, legacy package',
      provider: 'SalesforceMarketingCloud',
      key: 'salesforce_marketing_cloud',
      phone: US,
      wireTo: US.slice(1),
      config: () => ({ ...SL, endpoint: f.sfmc.url }),
      secrets: { client_secret: SL.client_secret },
      received: sfmcReceived,
    },
    {
      name: 'CustomGateway',
      provider: 'CustomGateway',
      key: 'custom_gateway',
      phone: US,
      wireTo: US,
      config: () => ({ uri: f.gw.uri, api_key: GW_KEY, sender_id: 'OtpGate' }),
      secrets: { api_key: GW_KEY },
      received: () => f.gw.messages.map((m) => ({ to: m.phoneNumber, text: m.message })),
    },
  ];
}

function codeIn(text: string): string {
  const m = /(\d{6}) is your /.exec(text);
  assert.ok(m?.[1], `no code in "${text}"`);
  return m[1];
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

/** Sends a passcode, drains the outbox, checks what the fake received, verifies the code. */
async function sendAndVerify(t: TestApp, auth: string, c: Case): Promise<string> {
  const before = c.received().length;
  const s = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: c.phone } });
  assert.equal(s.statusCode, 202, s.body);
  const { challenge_id, message_id } = s.json<{ challenge_id: string; message_id: string }>();
  await t.drainOutbox();
  const m = (await t.call('GET', `/v1/messages/${message_id}`, { auth })).json();
  assert.equal(m.status, 'sent', JSON.stringify(m));
  assert.equal(m.provider, c.provider);
  const got = c.received().slice(before);
  assert.equal(got.length, 1, `the ${c.provider} fake received ${got.length} messages`);
  assert.equal(got[0]!.to, c.wireTo);
  const code = codeIn(got[0]!.text);
  const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id, code } });
  assert.equal(v.statusCode, 200, v.body);
  assert.equal(v.json().verified, true);
  return code;
}

const fakes = {} as Fakes;
before(async () => {
  fakes.twilio = await startTwilioFake({ accountSid: TW.account_sid, authToken: TW.auth_token, messagingServiceSids: [TWS.messaging_service_sid] });
  fakes.mb = await startMessageBirdFake({ accessKey: MB.access_key });
  fakes.tlKey = await startTextlocalFake({ region: 'uk', apiKey: TLK.api_key });
  fakes.tlHash = await startTextlocalFake({ region: 'uk', username: TLH.username, hash: TLH.hash });
  fakes.tlIn = await startTextlocalFake({ region: 'in', username: TLI.username, hash: TLI.hash });
  fakes.insta = await startInstaAlertsFake({ apiKey: IA.api_key });
  fakes.sfmc = await startSfmcFake({
    clientId: SE.client_id,
    clientSecret: SE.client_secret,
    legacy: { clientId: SL.client_id, clientSecret: SL.client_secret },
    messageIds: [SE.message_id],
    keyword: SE.keyword,
    restPrefix: '/rest/',
  });
  fakes.gw = await startCustomGatewayFake({ apiKey: GW_KEY });
});
after(async () => {
  await Promise.all(Object.values(fakes).map((f: { close(): Promise<void> }) => f.close()));
});

for (const dialect of await testDialects()) {
  describe(`every provider end to end (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, env: { OTPGATE_LOG_LEVEL: 'trace' } });
    });
    after(async () => t.close());

    // Built lazily: the fakes start in the file's `before`.
    const names = cases({} as Fakes).map((c) => c.name);
    for (const [i, name] of names.entries()) {
      test(name, async () => {
        const c = cases(fakes)[i]!;
        const { auth, tenantId } = await t.createTenant({ app_name: 'Acme', sender_id: 'OtpGate' }, `E2E ${name}`);
        const config = c.config();
        const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: c.provider, [c.key]: config } });
        assert.equal(put.statusCode, 200, put.body);
        const code1 = await sendAndVerify(t, auth, c);

        // GET masks every secret; everything else comes back as saved.
        const get = await t.call('GET', '/cis/v1/tenantsmsproviders', { auth });
        assert.equal(get.statusCode, 200);
        const shown = get.json();
        assert.equal(shown.provider, c.provider);
        for (const [field, value] of Object.entries(c.secrets)) {
          assert.equal(shown[c.key][field], MASK, `${field} is masked`);
          assert.ok(!get.body.includes(value), `GET holds ${field}`);
          assert.ok(!put.body.includes(value), `PUT answer holds ${field}`);
        }
        for (const [field, value] of Object.entries(config)) if (!(field in c.secrets)) assert.deepEqual(shown[c.key][field], value, field);

        // A PUT without the secrets keeps them; so does one sending the mask back.
        const withoutSecrets = Object.fromEntries(Object.entries(config).filter(([k]) => !(k in c.secrets)));
        const keep = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: c.provider, [c.key]: withoutSecrets } });
        assert.equal(keep.statusCode, 200, keep.body);
        await sendAndVerify(t, auth, c);
        const masked = { ...withoutSecrets, ...Object.fromEntries(Object.keys(c.secrets).map((k) => [k, MASK])) };
        const keep2 = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: c.provider, [c.key]: masked } });
        assert.equal(keep2.statusCode, 200, keep2.body);
        const code3 = await sendAndVerify(t, auth, c);

        // Three saves, three audit entries, none holding a secret.
        const audit = await t.call('GET', `/v1/tenants/${tenantId}/audit-log`, { auth: adminAuth });
        assert.equal(audit.statusCode, 200, audit.body);
        const updates = audit.json().items.filter((e: { action: string }) => e.action === 'provider.updated');
        assert.equal(updates.length, 3);
        for (const value of Object.values(c.secrets)) assert.ok(!audit.body.includes(value), 'the audit log holds a secret');

        const logs = t.logs.text();
        for (const secret of [...Object.values(c.secrets), code1, code3]) assert.ok(!logs.includes(secret), `a log line holds ${secret.slice(0, 4)}…`);
        if (dialect === 'sqlite') {
          const bytes = sqliteBytes(t);
          for (const [field, value] of Object.entries(c.secrets)) assert.ok(!bytes.includes(value), `${field} is in clear in the database file`);
        }
      });
    }

    test('the Textlocal (India) and InstaAlerts requests carried the India-specific fields', () => {
      const ia = fakes.insta.messages.at(-1);
      assert.ok(ia, 'InstaAlerts received a message');
      assert.equal(ia.sender, IA.sender_id);
      assert.equal(ia.dltEntityId, IA.dlt_entity_id);
      assert.equal(ia.dltTemplateId, IA.dlt_template_id);
      const tl = fakes.tlIn.messages.at(-1);
      assert.ok(tl, 'Textlocal India received a message');
      assert.equal(tl.sender, TLI.sender);
    });
  });
}
