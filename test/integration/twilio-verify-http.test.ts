import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { sidOf } from '../../src/domain/twilio-sids.js';
import { adminAuth, createTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/**
 * The Twilio Verify v2–compatible API over raw HTTP (docs/twilio-verify.md): Basic auth in
 * each accepted form and every refusal, form parsing and the bad input Twilio's error body
 * answers, with nothing changed by a refused request.
 */

const FORM = 'application/x-www-form-urlencoded';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

let phoneSeq = 0;
const nextPhone = () => `+1415555${String(7000 + phoneSeq++).padStart(4, '0')}`;

for (const dialect of await testDialects()) {
  describe(`Twilio Verify API over HTTP (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 10, 23, 9));
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    async function account() {
      const tenant = await t.createTenant({ resend_cooldown_seconds: 0 });
      return { ...tenant, basic: basic(sidOf(tenant.tenantId, 'ten'), tenant.apiKey) };
    }
    const v2 = (method: string, url: string, auth: string | undefined, body?: string, contentType = FORM) =>
      t.app.inject({ method: method as 'GET', url, headers: { ...(auth ? { authorization: auth } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) }, ...(body !== undefined ? { payload: body } : {}) });

    /** Twilio's error body, exactly its four fields. */
    function assertTwilioError(res: { statusCode: number; headers: Record<string, unknown>; json(): any }, code: number, status: number): string {
      assert.equal(res.statusCode, status);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'more_info', 'status']);
      assert.equal(body.code, code, body.message);
      assert.equal(body.status, status);
      assert.equal(body.more_info, `https://www.twilio.com/docs/errors/${code}`);
      return body.message as string;
    }
    const serviceCount = async (auth: string) => (await v2('GET', '/v2/Services', auth)).json().services.length as number;

    test('Basic auth: the account SID, the key id or its SK SID with the key; every other credential is 20003', async () => {
      const a = await account();
      const b = await account();
      for (const user of [sidOf(a.tenantId, 'ten'), a.keyId, sidOf(a.keyId, 'key')]) {
        const res = await v2('GET', '/v2/Services', basic(user, a.apiKey));
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json().meta.key, 'services');
      }
      const refusals: Array<string | undefined> = [
        undefined,
        a.auth, // Bearer, as /v1 takes it
        'Basic',
        'Basic !!!',
        `Basic ${Buffer.from(a.apiKey).toString('base64')}`, // no user part
        basic(sidOf(a.tenantId, 'ten'), `${a.apiKey}x`),
        basic(sidOf(b.tenantId, 'ten'), a.apiKey), // another account's SID with this key
        basic(b.keyId, a.apiKey),
        basic(sidOf(a.tenantId, 'ten'), TEST_ADMIN_KEY), // the operator's key is not an account
        basic('', a.apiKey),
      ];
      for (const auth of refusals) {
        const res = await v2('POST', '/v2/Services', auth, form({ FriendlyName: 'Nope' }));
        assertTwilioError(res, 20003, 401);
        assert.match(String(res.headers['www-authenticate']), /^Basic /);
      }
      assert.equal(await serviceCount(a.basic), 0, 'no refused request created a service');

      // A revoked key stops working once the key cache (5 s) has passed.
      assert.equal((await t.call('DELETE', `/v1/tenants/${a.tenantId}/api-keys/${a.keyId}`, { auth: adminAuth })).statusCode, 204);
      clock.advance(6_000);
      assertTwilioError(await v2('GET', '/v2/Services', a.basic), 20003, 401);
      // The key never comes back in an answer or a log line.
      assert.ok(!t.logs.text().includes(a.apiKey));
    });

    test('form parsing: JSON, repeated, unknown, mistyped and oversized parameters are 60200 and change nothing', async () => {
      const a = await account();
      const bad: Array<[string, string | undefined, RegExp]> = [
        [JSON.stringify({ FriendlyName: 'Acme' }), 'application/json', /form-encoded/],
        ['FriendlyName=Acme&FriendlyName=Other', undefined, /FriendlyName.*more than once/],
        ['FriendlyName=Acme&Colour=blue', undefined, /Colour/],
        ['FriendlyName=Acme&CodeLength=abc', undefined, /CodeLength/],
        ['FriendlyName=Acme&CodeLength=11', undefined, /CodeLength/],
        ['FriendlyName=Acme&CodeLength=3', undefined, /CodeLength/],
        ['FriendlyName=Acme&Psd2Enabled=yes', undefined, /Psd2Enabled/],
        [form({ FriendlyName: 'x'.repeat(33) }), undefined, /FriendlyName/],
        [form({ FriendlyName: 'Acme\u202eevil' }), undefined, /FriendlyName/],
        [form({ FriendlyName: '' }), undefined, /FriendlyName/],
        ['CodeLength=6', undefined, /FriendlyName.*required/],
        ['', undefined, /FriendlyName.*required/],
        ['FriendlyName=Acme&LookupEnabled=true', undefined, /LookupEnabled.*not supported/],
        ['FriendlyName=Acme&Totp.Issuer=Acme', undefined, /Totp\.Issuer.*not supported/],
        ['FriendlyName=Acme&DefaultTemplateSid=HJ00000000000000000000000000000000', undefined, /DefaultTemplateSid/],
      ];
      for (const [body, type, message] of bad) assert.match(assertTwilioError(await v2('POST', '/v2/Services', a.basic, body, type), 60200, 400), message);
      assertTwilioError(await v2('POST', '/v2/Services', a.basic, 'x'.repeat(2_000_000)), 60200, 400);
      assert.equal(await serviceCount(a.basic), 0, 'nothing was created');
      // `false` for a feature otpgate lacks describes otpgate, and is taken.
      const ok = await v2('POST', '/v2/Services', a.basic, form({ FriendlyName: 'Acme', LookupEnabled: 'false', DoNotShareWarningEnabled: 'False' }));
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal(ok.json().lookup_enabled, false);
      assertTwilioError(await v2('GET', '/v2/Services?PageSize=0', a.basic), 60200, 400);
      assertTwilioError(await v2('GET', '/v2/Services?Colour=blue', a.basic), 60200, 400);
    });

    test('verification bad input: 60200 or 60223 with Twilio’s answer, and no SMS queued', async () => {
      const a = await account();
      const svc = (await v2('POST', '/v2/Services', a.basic, form({ FriendlyName: 'Acme', Psd2Enabled: 'true' }))).json().sid as string;
      const url = `/v2/Services/${svc}/Verifications`;
      const phone = nextPhone();
      const cases: Array<[Record<string, string>, number, RegExp]> = [
        [{ Channel: 'sms' }, 60200, /To.*required/],
        [{ To: phone }, 60200, /Channel.*required/],
        [{ To: phone, Channel: 'pigeon' }, 60200, /Channel/],
        [{ To: phone, Channel: 'call' }, 60223, /CALL/],
        [{ To: 'not a number', Channel: 'sms' }, 60200, /To/],
        [{ To: phone, Channel: 'sms', Amount: 'EUR\u000112', Payee: 'Shop' }, 60200, /Amount/],
        [{ To: phone, Channel: 'sms', Amount: 'E'.repeat(33), Payee: 'Shop' }, 60200, /Amount/],
        [{ To: phone, Channel: 'sms', Amount: 'EUR 12' }, 60200, /Payee/], // the transaction message names both
        [{ To: phone, Channel: 'sms', Locale: 'english!' }, 60200, /Locale/],
        [{ To: phone, Channel: 'sms', AppHash: 'short' }, 60200, /AppHash/],
        [{ To: phone, Channel: 'sms', DeviceIp: '999.1.1.1' }, 60200, /DeviceIp/],
        [{ To: phone, Channel: 'sms', RiskCheck: 'disable' }, 60200, /RiskCheck/],
        [{ To: phone, Channel: 'sms', CustomMessage: 'hi' }, 60200, /CustomMessage/],
        [{ To: phone, Channel: 'sms', RateLimits: '{"k":"v"}' }, 60200, /RateLimits/],
        [{ To: phone, Channel: 'sms', Tags: '{"k":"v"}' }, 60200, /Tags/],
      ];
      for (const [fields, code, message] of cases) assert.match(assertTwilioError(await v2('POST', url, a.basic, form(fields)), code, code === 60223 ? 400 : 400), message);
      await t.drainOutbox();
      const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth: a.auth });
      assert.deepEqual(inbox.json().items, [], 'no refused request sent anything');

      const check = `/v2/Services/${svc}/VerificationCheck`;
      assert.match(assertTwilioError(await v2('POST', check, a.basic, form({ To: phone })), 60200, 400), /Code/);
      assert.match(assertTwilioError(await v2('POST', check, a.basic, form({ Code: '123456' })), 60200, 400), /To.*VerificationSid/);
      assert.match(assertTwilioError(await v2('POST', check, a.basic, form({ To: phone, Code: '12' })), 60200, 400), /Code/);
      assertTwilioError(await v2('POST', check, a.basic, form({ To: phone, Code: '123456' })), 20404, 404);
    });

    test('another tenant’s service or verification is 20404; unknown paths answer in Twilio’s body', async () => {
      const a = await account();
      const b = await account();
      const svc = (await v2('POST', '/v2/Services', a.basic, form({ FriendlyName: 'Acme' }))).json().sid as string;
      const started = await v2('POST', `/v2/Services/${svc}/Verifications`, a.basic, form({ To: nextPhone(), Channel: 'sms' }));
      assert.equal(started.statusCode, 201, started.body);
      const vsid = started.json().sid as string;
      assertTwilioError(await v2('GET', `/v2/Services/${svc}`, b.basic), 20404, 404);
      assertTwilioError(await v2('GET', `/v2/Services/${svc}/Verifications/${vsid}`, b.basic), 20404, 404);
      const bSvc = (await v2('POST', '/v2/Services', b.basic, form({ FriendlyName: 'B' }))).json().sid as string;
      assertTwilioError(await v2('GET', `/v2/Services/${bSvc}/Verifications/${vsid}`, b.basic), 20404, 404);
      assertTwilioError(await v2('POST', `/v2/Services/${bSvc}/Verifications/${vsid}`, b.basic, form({ Status: 'canceled' })), 20404, 404);
      assertTwilioError(await v2('POST', `/v2/Services/${bSvc}/VerificationCheck`, b.basic, form({ VerificationSid: vsid, Code: '123456' })), 20404, 404);
      assert.equal((await v2('GET', `/v2/Services/${svc}/Verifications/${vsid}`, a.basic)).json().status, 'pending', 'untouched');
      assertTwilioError(await v2('POST', `/v2/Services/${svc}/Verifications/${vsid}`, a.basic, form({ Status: 'pending' })), 60200, 400);
      assertTwilioError(await v2('GET', '/v2/Services/VA0/RateLimits', a.basic), 20404, 404);
      assertTwilioError(await v2('GET', '/v2/Nothing', a.basic), 20404, 404);
      // /v1 keeps its own auth and errors.
      const v1 = await t.call('GET', '/v1/messages', { auth: a.basic });
      assert.equal(v1.statusCode, 401);
      assert.equal(v1.json().code, 'auth.invalid_api_key');
    });
  });
}
