import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import type { CallbackRequest } from '../../src/providers/types.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { startTwilioFake, type TwilioFake } from '../fakes/twilio.js';
import { startMessageBirdFake, type MessageBirdFake } from '../fakes/messagebird.js';
import { startTextlocalFake, type TextlocalFake } from '../fakes/textlocal.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { messageBirdFixtures } from '../../src/providers/messagebird/fixtures.js';
import { textlocalFixtures } from '../../src/providers/textlocal/fixtures.js';

/**
 * Delivery receipts through `POST/GET /v1/callbacks/{provider}/{tenant_id}` (issue 3, DESIGN
 * "The flow" 5) with `OTPGATE_PUBLIC_URL` set: the adapters ask for callbacks at that URL, the
 * fakes call it back the way the real providers do (signed where they sign).
 */

const PUBLIC_URL = 'https://otp.example.com';
const TW = twilioFixtures.withSenderNumber;
const MB = messageBirdFixtures.signed;
const TL = textlocalFixtures.ukApiKey;
const PHONE = '+14155552671';

let twilio: TwilioFake;
let mb: MessageBirdFake;
let tl: TextlocalFake;
before(async () => {
  twilio = await startTwilioFake({ accountSid: TW.account_sid, authToken: TW.auth_token });
  mb = await startMessageBirdFake({ accessKey: MB.access_key });
  tl = await startTextlocalFake({ region: 'uk', apiKey: TL.api_key });
});
after(async () => {
  await Promise.all([twilio.close(), mb.close(), tl.close()]);
});

/** Delivers a provider's callback to the app as if it came over the Internet to PUBLIC_URL. */
async function deliver(t: TestApp, cb: CallbackRequest, edit: (headers: Record<string, string>) => void = () => undefined) {
  const url = new URL(cb.url);
  assert.equal(url.origin, PUBLIC_URL, 'the callback goes to the public URL');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(cb.headers)) if (v !== undefined) headers[k] = v;
  edit(headers);
  return t.app.inject({ method: cb.method as 'POST', url: url.pathname + url.search, headers, ...(cb.rawBody ? { payload: cb.rawBody } : {}) });
}

for (const dialect of await testDialects()) {
  describe(`delivery receipts (${dialect})`, () => {
    const clock = createManualClock(Date.now());
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock, env: { OTPGATE_PUBLIC_URL: PUBLIC_URL } });
    });
    after(async () => t.close());

    async function sendThrough(auth: string, phone = PHONE): Promise<string> {
      const s = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } });
      assert.equal(s.statusCode, 202, s.body);
      await t.drainOutbox();
      const id = s.json<{ message_id: string }>().message_id;
      const m = await status(auth, id);
      assert.equal(m.status, 'sent', JSON.stringify(m));
      return id;
    }
    async function status(auth: string, id: string) {
      return (await t.call('GET', `/v1/messages/${id}`, { auth })).json<{ status: string; provider_message_id: string; delivered_at: string | null; error: { kind: string; code: string | null } | null }>();
    }

    test('Twilio: a signed status callback marks the message delivered; a wrong signature is 403, none is 401', async () => {
      const { auth, tenantId } = await t.createTenant();
      const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
      assert.equal(put.statusCode, 200, put.body);
      const id = await sendThrough(auth);
      const sid = (await status(auth, id)).provider_message_id;
      const sent = twilio.messages.find((m) => m.sid === sid);
      assert.equal(sent?.statusCallback, `${PUBLIC_URL}/v1/callbacks/Twilio/${tenantId}`);

      const missing = await deliver(t, twilio.statusCallback(sid, 'delivered'), (h) => delete h['x-twilio-signature']);
      assert.equal(missing.statusCode, 401, missing.body);
      assert.equal(missing.json().code, 'auth.missing_credentials');
      const wrong = await deliver(t, twilio.statusCallback(sid, 'delivered'), (h) => (h['x-twilio-signature'] = 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='));
      assert.equal(wrong.statusCode, 403, wrong.body);
      assert.equal(wrong.json().code, 'auth.forbidden');
      // Signed with another account's token: 403 too.
      const other = await startTwilioFake({ accountSid: TW.account_sid, authToken: 'ffffffffffffffffffffffffffffffff' });
      try {
        const forged = await deliver(t, { ...twilio.statusCallback(sid, 'delivered'), headers: other.statusCallback(sid, 'delivered', { url: sent!.statusCallback! }).headers });
        assert.equal(forged.statusCode, 403, forged.body);
      } finally {
        await other.close();
      }
      assert.equal((await status(auth, id)).status, 'sent', 'a refused callback changed the message');

      const ok = await deliver(t, twilio.statusCallback(sid, 'delivered', { rawDlrDoneDate: '2601011200' }));
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json(), { ok: true, applied: 1, received: 1 });
      const m = await status(auth, id);
      assert.equal(m.status, 'delivered');
      assert.equal(m.delivered_at, '2026-01-01T12:00:00.000Z');
    });

    test('a test SMS through the saved configuration asks for a receipt, and the receipt marks it delivered; an unsaved one asks for none', async () => {
      const { auth, tenantId } = await t.createTenant();
      const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
      assert.equal(put.statusCode, 200, put.body);
      const res = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE } });
      assert.equal(res.statusCode, 200, res.body);
      const a = res.json<{ status: string; message_id: string; provider_message_id: string }>();
      assert.equal(a.status, 'accepted');
      const sent = twilio.messages.find((m) => m.sid === a.provider_message_id);
      assert.equal(sent?.statusCallback, `${PUBLIC_URL}/v1/callbacks/Twilio/${tenantId}`);
      assert.equal((await deliver(t, twilio.statusCallback(a.provider_message_id, 'delivered'))).statusCode, 200);
      assert.equal((await status(auth, a.message_id)).status, 'delivered');

      const unsaved = await t.call('POST', '/v1/sms-provider/test', { auth, body: { phone_number: PHONE, config: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } } });
      assert.equal(unsaved.json().status, 'accepted', unsaved.body);
      assert.equal(twilio.messages.find((m) => m.sid === unsaved.json().provider_message_id)?.statusCallback, null);
    });

    test('Twilio as primary and fallback (two accounts): a callback signed by the fallback account verifies', async () => {
      const B = { account_sid: 'ACfedcba9876543210fedcba9876543210', auth_token: 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0' };
      const second = await startTwilioFake({ accountSid: B.account_sid, authToken: B.auth_token });
      try {
        const { auth } = await t.createTenant();
        const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', {
          auth,
          body: {
            provider: 'Twilio',
            twilio: { ...TW, endpoint: twilio.url },
            fallback: { provider: 'Twilio', twilio: { ...B, sender_phone_number: '+15005550006', endpoint: second.url } },
          },
        });
        assert.equal(put.statusCode, 200, put.body);
        twilio.fail({ kind: 'error', code: 20003 });
        const id = await sendThrough(auth);
        const sid = (await status(auth, id)).provider_message_id;
        assert.ok(second.messages.some((m) => m.sid === sid), 'the fallback account sent it');
        const res = await deliver(t, second.statusCallback(sid, 'delivered'));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal((await status(auth, id)).status, 'delivered');
        // Neither account's token: still refused.
        const forged = await deliver(t, second.statusCallback(sid, 'failed'), (h) => (h['x-twilio-signature'] = 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='));
        assert.equal(forged.statusCode, 403);
      } finally {
        await second.close();
      }
    });

    test('Twilio: receipts out of order never move a message backwards', async () => {
      const { auth } = await t.createTenant();
      await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url } } });
      const id = await sendThrough(auth);
      const sid = (await status(auth, id)).provider_message_id;
      assert.equal((await deliver(t, twilio.statusCallback(sid, 'delivered'))).statusCode, 200);
      for (const late of ['sent', 'undelivered', 'failed', 'queued']) {
        const res = await deliver(t, twilio.statusCallback(sid, late, { errorCode: late === 'sent' || late === 'queued' ? undefined : 30003 }));
        assert.equal(res.statusCode, 200, `${late}: ${res.body}`);
        assert.equal(res.json().applied, 0, late);
        assert.equal((await status(auth, id)).status, 'delivered', `after a late "${late}"`);
      }
      // Undelivered first, then delivered: delivered wins.
      const id2 = await sendThrough(auth, '+14155552672');
      const sid2 = (await status(auth, id2)).provider_message_id;
      assert.equal((await deliver(t, twilio.statusCallback(sid2, 'sent'))).statusCode, 200);
      assert.equal((await status(auth, id2)).status, 'sent');
      assert.equal((await deliver(t, twilio.statusCallback(sid2, 'undelivered', { errorCode: 30003 }))).statusCode, 200);
      const undelivered = await status(auth, id2);
      assert.equal(undelivered.status, 'undelivered');
      assert.equal(undelivered.error?.code, '30003');
      // The dashboard's figures: an undelivered message was accepted by the provider, and is
      // counted as such (not as failed, which means never accepted).
      const totals = async () => {
        const buckets = (await t.call('GET', '/v1/stats?window=24h', { auth })).json().buckets as Array<Record<string, number>>;
        const sum = (k: string) => buckets.reduce((n, b) => n + (b[k] ?? 0), 0);
        return { sends: sum('sends'), sent: sum('sent'), receipts_expected: sum('receipts_expected'), delivered: sum('delivered'), undelivered: sum('undelivered'), failed: sum('failed') };
      };
      assert.deepEqual(await totals(), { sends: 2, sent: 2, receipts_expected: 2, delivered: 1, undelivered: 1, failed: 0 });
      assert.equal((await deliver(t, twilio.statusCallback(sid2, 'delivered'))).statusCode, 200);
      assert.deepEqual(await totals(), { sends: 2, sent: 2, receipts_expected: 2, delivered: 2, undelivered: 0, failed: 0 });
      // A message through a provider that sends no receipts is accepted, and is not one whose
      // receipt the delivery rate waits for.
      const { auth: inboxAuth } = await t.createTenant();
      assert.equal((await t.call('POST', '/v1/otp/send', { auth: inboxAuth, body: { phone_number: '+14155552671' } })).statusCode, 202);
      await t.drainOutbox();
      const inboxBuckets = (await t.call('GET', '/v1/stats?window=24h', { auth: inboxAuth })).json().buckets as Array<Record<string, number>>;
      assert.deepEqual([inboxBuckets.reduce((n, b) => n + b.sent!, 0), inboxBuckets.reduce((n, b) => n + b.receipts_expected!, 0)], [1, 0]);
      assert.equal((await status(auth, id2)).status, 'delivered');
    });

    test('MessageBird: a signed status report (GET) marks the message delivered; unsigned 401, tampered or stale 403', async () => {
      const { auth, tenantId } = await t.createTenant();
      const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { ...MB, endpoint: mb.url } } });
      assert.equal(put.statusCode, 200, put.body);
      const id = await sendThrough(auth);
      const providerId = (await status(auth, id)).provider_message_id;
      const sent = mb.messages.find((m) => m.id === providerId);
      assert.equal(sent?.reportUrl, `${PUBLIC_URL}/v1/callbacks/MessageBird/${tenantId}`);
      assert.equal(sent?.reference, id);
      const now = clock.now();

      const unsigned = await deliver(t, mb.statusReport(providerId, 'delivered', { nowMs: now }));
      assert.equal(unsigned.statusCode, 401, unsigned.body);
      for (const tamper of ['url', 'expired', 'issuer'] as const) {
        const res = await deliver(t, mb.statusReport(providerId, 'delivered', { signingKey: MB.signing_key, nowMs: now, tamper }));
        assert.equal(res.statusCode, 403, `${tamper}: ${res.body}`);
      }
      const wrongKey = await deliver(t, mb.statusReport(providerId, 'delivered', { signingKey: 'another-signing-key', nowMs: now }));
      assert.equal(wrongKey.statusCode, 403);
      // Signed ten minutes ago (by the injected clock): stale.
      const stale = await deliver(t, mb.statusReport(providerId, 'delivered', { signingKey: MB.signing_key, nowMs: now - 600_000 }));
      assert.equal(stale.statusCode, 403, stale.body);
      assert.equal((await status(auth, id)).status, 'sent');

      const ok = await deliver(t, mb.statusReport(providerId, 'delivered', { signingKey: MB.signing_key, nowMs: now }));
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().applied, 1);
      assert.equal((await status(auth, id)).status, 'delivered');
      // Freshness is judged by the injected clock, not the wall clock.
      clock.advance(3_600_000);
      const later = clock.now();
      const late = await deliver(t, mb.statusReport(providerId, 'expired', { signingKey: MB.signing_key, nowMs: later }));
      assert.equal(late.statusCode, 200, late.body);
      assert.equal(late.json().applied, 0);
      assert.equal((await status(auth, id)).status, 'delivered');
    });

    test('MessageBird: a delivery failure is recorded with its error code', async () => {
      const { auth } = await t.createTenant();
      await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'MessageBird', messagebird: { ...MB, endpoint: mb.url } } });
      const id = await sendThrough(auth);
      const providerId = (await status(auth, id)).provider_message_id;
      const res = await deliver(t, mb.statusReport(providerId, 'delivery_failed', { signingKey: MB.signing_key, nowMs: clock.now(), statusErrorCode: 104 }));
      assert.equal(res.statusCode, 200, res.body);
      const m = await status(auth, id);
      assert.equal(m.status, 'failed');
      assert.equal(m.error?.kind, 'delivery');
    });

    test('Textlocal: an unsigned receipt is matched by our message id echoed as customID', async () => {
      const { auth, tenantId } = await t.createTenant();
      await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Textlocal', textlocal: { ...TL, endpoint: tl.url } } });
      const id = await sendThrough(auth);
      const sent = tl.messages.at(-1)!;
      assert.equal(sent.custom, id);
      assert.equal(sent.receiptUrl, `${PUBLIC_URL}/v1/callbacks/Textlocal/${tenantId}`);
      const unknown = await deliver(t, { ...tl.receipt(sent.id, 'D'), rawBody: tl.receipt(sent.id, 'D').rawBody.replace(id, 'msg_unknown') });
      assert.equal(unknown.statusCode, 200, unknown.body);
      assert.equal(unknown.json().applied, 0);
      const q = await deliver(t, tl.receipt(sent.id, '?'));
      assert.equal(q.statusCode, 200, q.body);
      assert.equal((await status(auth, id)).status, 'sent');
      const ok = await deliver(t, tl.receipt(sent.id, 'D', '2026-01-01 00:00:07'));
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().applied, 1);
      const m = await status(auth, id);
      assert.equal(m.status, 'delivered');
      assert.equal(m.delivered_at, '2026-01-01T00:00:07.000Z');
      const late = await deliver(t, tl.receipt(sent.id, 'U'));
      assert.equal(late.json().applied, 0);
      assert.equal((await status(auth, id)).status, 'delivered');
    });

    test('another tenant cannot move this tenant’s messages; unknown providers and tenants are refused', async () => {
      const a = await t.createTenant({}, 'A');
      const b = await t.createTenant({}, 'B');
      await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth: a.auth, body: { provider: 'Textlocal', textlocal: { ...TL, endpoint: tl.url } } });
      await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth: b.auth, body: { provider: 'Textlocal', textlocal: { ...TL, endpoint: tl.url } } });
      const id = await sendThrough(a.auth);
      const receipt = tl.receipt(tl.messages.at(-1)!.id, 'D');
      const viaB = await deliver(t, { ...receipt, url: receipt.url.replace(a.tenantId, b.tenantId) });
      assert.equal(viaB.statusCode, 200, viaB.body);
      assert.equal(viaB.json().applied, 0);
      assert.equal((await status(a.auth, id)).status, 'sent');

      const noKind = await t.app.inject({ method: 'POST', url: `/v1/callbacks/Nexmo/${a.tenantId}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' });
      assert.equal(noKind.statusCode, 404, noKind.body);
      const noTenant = await t.app.inject({ method: 'POST', url: '/v1/callbacks/Twilio/ten_nobody', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' });
      assert.ok(noTenant.statusCode >= 400 && noTenant.statusCode < 500, noTenant.body);
    });
  });
}
