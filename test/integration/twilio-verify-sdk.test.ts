import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { createManualClock } from '../../src/domain/clock.js';
import { sidOf } from '../../src/domain/twilio-sids.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { gb, guard } from './fraud-guard-support.js';

/**
 * The Twilio Verify v2–compatible API (docs/twilio-verify.md) driven by the official `twilio`
 * npm package: its own request building, form encoding, Basic auth, paging and error parsing.
 * Only the host differs: a RequestClient subclass sends https://verify.twilio.com/… to the
 * test server on 127.0.0.1.
 */

type Client = ReturnType<typeof twilio>;
interface TwilioRestError {
  status: number;
  code: number;
  message: string;
  moreInfo: string;
}

let phoneSeq = 0;
const nextPhone = () => `+1415555${String(6000 + phoneSeq++).padStart(4, '0')}`;

/** What the SDK throws for an error answer: Twilio's `code` and `status`. */
async function twilioError(p: Promise<unknown>, code: number, status: number): Promise<TwilioRestError> {
  try {
    await p;
  } catch (err) {
    const e = err as TwilioRestError;
    assert.equal(e.code, code, `code ${e.code} (${e.message})`);
    assert.equal(e.status, status);
    assert.equal(e.moreInfo, `https://www.twilio.com/docs/errors/${code}`);
    return e;
  }
  assert.fail(`expected Twilio error ${code}`);
}

for (const dialect of await testDialects()) {
  describe(`Twilio Verify API through the twilio SDK (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 10, 23, 9));
    let t: TestApp;
    let base: string;

    before(async () => {
      t = await createTestApp({ dialect, clock });
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const address = t.app.server.address();
      assert.ok(address && typeof address === 'object');
      base = `http://127.0.0.1:${address.port}`;
    });
    after(async () => t.close());

    /** The official client, with only the host of its requests changed. */
    function sdk(username: string, password: string, accountSid?: string): Client {
      const to = base;
      class LocalRequestClient extends twilio.RequestClient {
        override request<TData>(opts: RequestClient.RequestOptions<TData>) {
          return super.request<TData>({ ...opts, uri: opts.uri.replace(/^https:\/\/verify\.twilio\.com/, to) });
        }
      }
      return twilio(username, password, { httpClient: new LocalRequestClient(), ...(accountSid ? { accountSid } : {}) });
    }

    /** A tenant and a client authenticated as its account (account SID + API key). */
    async function account(settings?: Record<string, unknown>) {
      const tenant = await t.createTenant({ resend_cooldown_seconds: 0, ...settings });
      const accountSid = sidOf(tenant.tenantId, 'ten');
      return { ...tenant, accountSid, client: sdk(accountSid, tenant.apiKey) };
    }

    async function lastBody(auth: string, phone: string): Promise<string> {
      await t.drainOutbox();
      const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth });
      return inbox.json<{ items: Array<{ body: string }> }>().items[0]?.body ?? '';
    }
    async function lastCode(auth: string, phone: string, digits = 6): Promise<string> {
      const body = await lastBody(auth, phone);
      const code = new RegExp(`\\b(\\d{${digits}})\\b`).exec(body)?.[1];
      assert.ok(code, `no code in ${JSON.stringify(body)}`);
      return code;
    }
    const wrong = (code: string) => (code.startsWith('0') ? '1' : '0') + code.slice(1);

    test('services: create, fetch, list across pages, update, remove', async () => {
      const { client, accountSid } = await account();
      const a = await client.verify.v2.services.create({ friendlyName: 'Acme Shop', codeLength: 8 });
      assert.match(a.sid, /^VA[0-9a-f]{32}$/);
      assert.equal(a.accountSid, accountSid);
      assert.equal(a.friendlyName, 'Acme Shop');
      assert.equal(a.codeLength, 8);
      assert.equal(a.psd2Enabled, false);
      assert.equal(a.customCodeEnabled, false);
      assert.ok(a.dateCreated instanceof Date && !Number.isNaN(a.dateCreated.getTime()));
      assert.equal(a.url, `${base}/v2/Services/${a.sid}`);
      clock.advance(1); // services list in creation order
      const b = await client.verify.v2.services.create({ friendlyName: 'Second' });
      clock.advance(1);
      const c = await client.verify.v2.services.create({ friendlyName: 'Third', psd2Enabled: true });

      const fetched = await client.verify.v2.services(a.sid).fetch();
      assert.equal(fetched.friendlyName, 'Acme Shop');
      // pageSize 2: the SDK follows next_page_url to the second page.
      const listed = await client.verify.v2.services.list({ pageSize: 2 });
      assert.deepEqual(listed.map((s) => s.sid), [a.sid, b.sid, c.sid]);
      const page = await client.verify.v2.services.page({ pageSize: 2 });
      assert.equal(page.instances.length, 2);
      assert.ok(page.nextPageUrl?.startsWith(base), 'paging stays on otpgate');

      const updated = await client.verify.v2.services(a.sid).update({ friendlyName: 'Acme', codeLength: 6, psd2Enabled: true, customCodeEnabled: true });
      assert.deepEqual([updated.friendlyName, updated.codeLength, updated.psd2Enabled, updated.customCodeEnabled], ['Acme', 6, true, true]);
      assert.equal(await client.verify.v2.services(b.sid).remove(), true);
      await twilioError(client.verify.v2.services(b.sid).fetch(), 20404, 404);
      await twilioError(client.verify.v2.services(b.sid).remove(), 20404, 404);
      assert.deepEqual((await client.verify.v2.services.list()).map((s) => s.sid), [a.sid, c.sid]);
    });

    test('verifications: create, fetch by SID and by number, a wrong then the right check, a resend joins the verification', async () => {
      const { client, auth } = await account();
      const service = await client.verify.v2.services.create({ friendlyName: 'Acme Shop', codeLength: 8 });
      const phone = nextPhone();
      const v = await client.verify.v2.services(service.sid).verifications.create({ to: phone, channel: 'sms', locale: 'en' });
      assert.match(v.sid, /^VE[0-9a-f]{32}$/);
      assert.deepEqual([v.status, v.valid, v.to, v.channel, v.serviceSid], ['pending', false, phone, 'sms', service.sid]);
      assert.equal(v.sendCodeAttempts.length, 1);
      assert.match(v.sendCodeAttempts[0].attempt_sid, /^VL[0-9a-f]{32}$/);
      const body = await lastBody(auth, phone);
      assert.match(body, /Acme Shop/, 'FriendlyName is {{app_name}}');
      const code = await lastCode(auth, phone, 8);

      clock.advance(10_000);
      const again = await client.verify.v2.services(service.sid).verifications.create({ to: phone, channel: 'sms' });
      assert.equal(again.sid, v.sid, 'a resend is the same verification');
      assert.equal(again.sendCodeAttempts.length, 2);
      assert.equal(await lastCode(auth, phone, 8), code, 'with the same code');

      assert.equal((await client.verify.v2.services(service.sid).verifications(v.sid).fetch()).status, 'pending');
      assert.equal((await client.verify.v2.services(service.sid).verifications(phone).fetch()).sid, v.sid, 'the number names its verification too');

      const bad = await client.verify.v2.services(service.sid).verificationChecks.create({ to: phone, code: wrong(code) });
      assert.deepEqual([bad.status, bad.valid, bad.sid], ['pending', false, v.sid]);
      const ok = await client.verify.v2.services(service.sid).verificationChecks.create({ verificationSid: v.sid, code });
      assert.deepEqual([ok.status, ok.valid, ok.to, ok.channel], ['approved', true, phone, 'sms']);
      assert.equal((await client.verify.v2.services(service.sid).verifications(v.sid).fetch()).status, 'approved');
      // An approved verification is gone for checks, as on Twilio.
      await twilioError(client.verify.v2.services(service.sid).verificationChecks.create({ to: phone, code }), 20404, 404);
      // Another service of the account does not see it.
      const other = await client.verify.v2.services.create({ friendlyName: 'Other' });
      await twilioError(client.verify.v2.services(other.sid).verifications(v.sid).fetch(), 20404, 404);
    });

    test('update: Status=canceled ends the verification, Status=approved approves it without a code', async () => {
      const { client } = await account();
      const service = await client.verify.v2.services.create({ friendlyName: 'Acme' });
      const phone = nextPhone();
      const v = await client.verify.v2.services(service.sid).verifications.create({ to: phone, channel: 'sms' });
      const canceled = await client.verify.v2.services(service.sid).verifications(v.sid).update({ status: 'canceled' });
      assert.equal(canceled.status, 'canceled');
      await twilioError(client.verify.v2.services(service.sid).verificationChecks.create({ to: phone, code: '123456' }), 20404, 404);
      await twilioError(client.verify.v2.services(service.sid).verifications(v.sid).update({ status: 'approved' }), 20404, 404);

      const w = await client.verify.v2.services(service.sid).verifications.create({ to: phone, channel: 'sms' });
      assert.notEqual(w.sid, v.sid);
      const approved = await client.verify.v2.services(service.sid).verifications(w.sid).update({ status: 'approved' });
      assert.deepEqual([approved.status, approved.valid], ['approved', true]);
    });

    test('PSD2: Amount and Payee are shown and bound; another amount is a wrong code', async () => {
      const { client, auth } = await account();
      const service = await client.verify.v2.services.create({ friendlyName: 'Acme Bank', psd2Enabled: true });
      const phone = nextPhone();
      const v = await client.verify.v2.services(service.sid).verifications.create({ to: phone, channel: 'sms', amount: 'EUR 12.50', payee: 'Shop Ltd' });
      assert.deepEqual([v.amount, v.payee], ['EUR 12.50', 'Shop Ltd']);
      assert.match(await lastBody(auth, phone), /EUR 12\.50.*Shop Ltd/);
      const code = await lastCode(auth, phone);
      const other = await client.verify.v2.services(service.sid).verificationChecks.create({ to: phone, code, amount: 'EUR 99.00', payee: 'Shop Ltd' });
      assert.deepEqual([other.status, other.valid], ['pending', false]);
      const ok = await client.verify.v2.services(service.sid).verificationChecks.create({ to: phone, code, amount: 'EUR 12.50', payee: 'Shop Ltd' });
      assert.equal(ok.status, 'approved');

      const plain = await client.verify.v2.services.create({ friendlyName: 'Plain' });
      const e = await twilioError(client.verify.v2.services(plain.sid).verifications.create({ to: phone, channel: 'sms', amount: 'EUR 1' }), 60200, 400);
      assert.match(e.message, /Amount/);
    });

    test('CustomCode, CustomFriendlyName and AppHash; the custom code appears in no answer and no log', async () => {
      const { client, auth } = await account();
      const service = await client.verify.v2.services.create({ friendlyName: 'Acme', customCodeEnabled: true });
      const phone = nextPhone();
      const custom = '482913';
      const started = await client.verify.v2.services(service.sid).verifications.create({ to: phone, channel: 'sms', customCode: custom, customFriendlyName: 'Acme Login', appHash: 'FA+9qCX9VSu' });
      assert.ok(!JSON.stringify(started.toJSON()).includes(custom));
      const body = await lastBody(auth, phone);
      assert.match(body, /Acme Login/);
      assert.match(body, /FA\+9qCX9VSu/);
      const ok = await client.verify.v2.services(service.sid).verificationChecks.create({ to: phone, code: custom });
      assert.equal(ok.status, 'approved');
      assert.ok(!JSON.stringify(ok.toJSON()).includes(custom));
      assert.ok(!t.logs.text().includes(custom), 'the custom code is in no log line');

      const plain = await client.verify.v2.services.create({ friendlyName: 'Plain' });
      await twilioError(client.verify.v2.services(plain.sid).verifications.create({ to: nextPhone(), channel: 'sms', customCode: custom }), 60200, 400);
    });

    test('errors: 20404, 60200, 60202, 60203, 60212, 60223, 60410, 60605, 20003', async () => {
      const { client, auth, tenantId, apiKey } = await account({ max_verify_attempts: 2, max_sends_per_phone_per_hour: 2, allowed_countries: ['US', 'GB'] });
      const service = await client.verify.v2.services.create({ friendlyName: 'Acme' });
      const verifications = client.verify.v2.services(service.sid).verifications;
      const checks = client.verify.v2.services(service.sid).verificationChecks;

      await twilioError(client.verify.v2.services(`VA${'0'.repeat(32)}`).fetch(), 20404, 404);
      await twilioError(verifications(`VE${'0'.repeat(32)}`).fetch(), 20404, 404);
      await twilioError(verifications.create({ to: '12', channel: 'sms' }), 60200, 400);
      await twilioError(client.verify.v2.services.create({ friendlyName: 'x', codeLength: 12 }), 60200, 400);
      for (const channel of ['call', 'email', 'whatsapp']) {
        const e = await twilioError(verifications.create({ to: nextPhone(), channel }), 60223, 400);
        assert.match(e.message, new RegExp(channel.toUpperCase()));
      }
      await twilioError(verifications.create({ to: nextPhone(), channel: 'sms', templateSid: `HJ${'0'.repeat(32)}` }), 60200, 400);
      await twilioError(verifications.create({ to: '+33612345678', channel: 'sms' }), 60605, 403);

      // 60202: the second wrong code is the last; a check after it is refused.
      const phone = nextPhone();
      await verifications.create({ to: phone, channel: 'sms' });
      const code = await lastCode(auth, phone);
      assert.equal((await checks.create({ to: phone, code: wrong(code) })).status, 'pending');
      assert.equal((await checks.create({ to: phone, code: wrong(code) })).status, 'max_attempts_reached');
      await twilioError(checks.create({ to: phone, code }), 60202, 429);
      assert.equal((await verifications(phone).fetch()).status, 'max_attempts_reached');

      // 60203: the phone's hourly cap (2 sends) is used by the two sends above… plus this one.
      await verifications.create({ to: phone, channel: 'sms' });
      await twilioError(verifications.create({ to: phone, channel: 'sms' }), 60203, 429);

      // 60212: a resend inside the cooldown.
      await t.call('PATCH', `/v1/tenants/${tenantId}`, { auth: adminAuth, body: { settings: { resend_cooldown_seconds: 30 } } });
      clock.advance(6_000); // past the tenant cache
      const busy = nextPhone();
      await verifications.create({ to: busy, channel: 'sms' });
      await twilioError(verifications.create({ to: busy, channel: 'sms' }), 60212, 429);

      // 20003: a wrong secret, and the right secret under another account.
      await twilioError(sdk(sidOf(tenantId, 'ten'), `${apiKey}x`).verify.v2.services.list(), 20003, 401);
      const stranger = await account();
      await twilioError(sdk(stranger.accountSid, apiKey).verify.v2.services.list(), 20003, 401);
    });

    test('60410: the fraud guard refuses a premium-rate number and a pumped prefix', async () => {
      const { client } = await account({ fraud_guard: guard({ prefix_hour: { floor: 2, ratio: 0 } }) });
      const service = await client.verify.v2.services.create({ friendlyName: 'Acme' });
      const verifications = client.verify.v2.services(service.sid).verifications;
      await twilioError(verifications.create({ to: '+449098790000', channel: 'sms' }), 60410, 403);
      await verifications.create({ to: gb(1), channel: 'sms' });
      await verifications.create({ to: gb(2), channel: 'sms' });
      await twilioError(verifications.create({ to: gb(3), channel: 'sms' }), 60410, 403);
    });

    test('the Verify domain’s baseUrl, as docs/twilio-verify.md shows, is enough to point a client here', async () => {
      const { apiKey, accountSid } = await account();
      const client = twilio(accountSid, apiKey);
      client.verify.baseUrl = base;
      const s = await client.verify.v2.services.create({ friendlyName: 'Plain client' });
      assert.equal((await client.verify.v2.services(s.sid).fetch()).friendlyName, 'Plain client');
    });

    test('the key id (or its SK SID) with the accountSid option authenticates as well', async () => {
      const { keyId, apiKey, accountSid } = await account();
      for (const user of [keyId, sidOf(keyId, 'key')]) {
        const client = sdk(user, apiKey, accountSid);
        const s = await client.verify.v2.services.create({ friendlyName: 'Keyed' });
        assert.equal(s.accountSid, accountSid);
      }
    });
  });
}
