import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

for (const dialect of await testDialects()) {
  describe(`message log, event SMS and templates (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(async () => t.close());

    test('event SMS go through the outbox; the log filters and pages newest first', async () => {
      const { auth } = await t.createTenant({ app_name: 'Shop', resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 100 });
      const ev = await t.call('POST', '/v1/messages', { auth, body: { to: '+14155552671', body: 'Your order shipped.' } });
      assert.equal(ev.statusCode, 202, ev.body);
      assert.equal(ev.json().kind, 'event');
      const tpl = await t.call('POST', '/v1/messages', { auth, body: { to: '+14155552672', template: 'Hi from {{app_name}}, order {{order}}', variables: { order: '42' } } });
      assert.equal(tpl.statusCode, 202, tpl.body);
      for (let i = 0; i < 3; i++) await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155552673', purpose: 'mfa' } });
      await t.drainOutbox();
      const inbox = (await t.call('GET', '/v1/inbox?phone_number=%2B14155552672', { auth })).json();
      assert.equal(inbox.items[0].body, 'Hi from Shop, order 42');

      const all = (await t.call('GET', '/v1/messages?limit=2', { auth })).json();
      assert.equal(all.items.length, 2);
      assert.ok(all.next_cursor);
      const page2 = (await t.call('GET', `/v1/messages?limit=2&cursor=${all.next_cursor}`, { auth })).json();
      assert.equal(page2.items.length, 2);
      const page3 = (await t.call('GET', `/v1/messages?limit=2&cursor=${page2.next_cursor}`, { auth })).json();
      assert.equal(page3.items.length, 1);
      assert.equal(page3.next_cursor, null);
      const ids = [...all.items, ...page2.items, ...page3.items].map((m: { id: string }) => m.id);
      assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
      assert.equal(new Set(ids).size, 5);

      const mfa = (await t.call('GET', '/v1/messages?purpose=mfa', { auth })).json();
      assert.equal(mfa.items.length, 3);
      for (const m of mfa.items) assert.match(m.body, /^\*{6} /, 'codes masked in the log');
      const byPhone = (await t.call('GET', '/v1/messages?phone_number=%2B1%20415%20555%202671', { auth })).json();
      assert.equal(byPhone.items.length, 1);
      assert.equal((await t.call('GET', '/v1/messages?status=sent', { auth })).json().items.length, 5);
      assert.equal((await t.call('GET', '/v1/messages?status=failed', { auth })).json().items.length, 0);
    });

    test('templates: locale fallback, encoding and segments on save, used by sends', async () => {
      const { auth } = await t.createTenant({ app_name: 'Loja' });
      const put = await t.call('PUT', '/v1/templates/login/pt', { auth, body: { body: 'Seu código {{app_name}}: {{code}}' } });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().encoding, 'UCS-2', 'ó is not in the GSM-7 alphabet');
      assert.equal(put.json().segments, 1);
      const gsm = await t.call('PUT', '/v1/templates/login/es', { auth, body: { body: 'Tu código {{code}}'.replace('ó', 'o') } });
      assert.equal(gsm.json().encoding, 'GSM-7');
      const br = (await t.call('GET', '/v1/templates/login/pt-BR', { auth })).json();
      assert.equal(br.resolved_locale, 'pt');
      assert.equal(br.is_default, false);
      const fr = (await t.call('GET', '/v1/templates/login/fr', { auth })).json();
      assert.equal(fr.is_default, true);
      const ucs = await t.call('PUT', '/v1/templates/login/ru', { auth, body: { body: 'Ваш код {{code}}' } });
      assert.equal(ucs.json().encoding, 'UCS-2');
      await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155552671', locale: 'pt-BR' } });
      await t.drainOutbox();
      const body = (await t.call('GET', '/v1/inbox', { auth })).json().items[0].body as string;
      assert.match(body, /^Seu código Loja: \d{6}$/);
      const msg = (await t.call('GET', '/v1/messages', { auth })).json().items[0];
      assert.equal(msg.encoding, 'UCS-2');
      assert.equal(msg.segments, 1);
    });
  });
}
