import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/** GET /v1/tenants?q=: name contains / id starts with, ignoring case, on both stores. */
for (const dialect of await testDialects()) {
  describe(`tenant search (${dialect})`, () => {
    let t: TestApp;
    const ids: Record<string, string> = {};
    before(async () => {
      t = await createTestApp({ dialect });
      for (const name of ['Acme Shop', 'acme bank', 'Globex', '100% Pure_Juice', 'Zoë Café']) {
        const r = await t.call('POST', '/v1/tenants', { auth: adminAuth, body: { name } });
        assert.equal(r.statusCode, 201, r.body);
        ids[name] = r.json().id;
      }
    });
    after(async () => {
      await t.close();
    });

    const names = async (query: string) => {
      const r = await t.call('GET', `/v1/tenants?${query}`, { auth: adminAuth });
      assert.equal(r.statusCode, 200, r.body);
      return (r.json().items as { name: string }[]).map((i) => i.name).sort();
    };

    test('a name contains the text, whatever its case', async () => {
      assert.deepEqual(await names('q=ACME'), ['Acme Shop', 'acme bank']);
      assert.deepEqual(await names('q=shop'), ['Acme Shop']);
      assert.deepEqual(await names(`q=${encodeURIComponent('  glob ')}`), ['Globex'], 'spaces around are ignored');
      assert.deepEqual(await names(`q=${encodeURIComponent('Café')}`), ['Zoë Café'], 'non-ASCII text as typed');
      assert.deepEqual(await names(`q=${encodeURIComponent('ZOË CAFÉ')}`), ['Zoë Café'], 'non-ASCII letters in another case');
      assert.deepEqual(await names(`q=${encodeURIComponent('zoë café')}`), ['Zoë Café']);
      assert.deepEqual(await names('q=nothing-like-this'), []);
    });

    test('% and _ are plain characters, not wildcards', async () => {
      assert.deepEqual(await names(`q=${encodeURIComponent('100%')}`), ['100% Pure_Juice']);
      assert.deepEqual(await names(`q=${encodeURIComponent('%')}`), ['100% Pure_Juice']);
      assert.deepEqual(await names(`q=${encodeURIComponent('e_j')}`), ['100% Pure_Juice']);
      assert.deepEqual(await names(`q=${encodeURIComponent('a_m')}`), [], '_ does not stand for any character');
    });

    test('an id matches by its start, whatever its case', async () => {
      const id = ids['Globex']!;
      assert.deepEqual(await names(`q=${encodeURIComponent(id)}`), ['Globex']);
      assert.deepEqual(await names(`q=${encodeURIComponent(id.slice(0, id.length - 2).toUpperCase())}`), ['Globex']);
      assert.deepEqual(await names(`q=${encodeURIComponent(id.slice(5))}`), [], 'the middle of an id does not match');
      assert.equal((await names('q=ten_')).length, 5, 'every id starts with ten_');
    });

    test('an empty q lists every tenant; pages keep the filter', async () => {
      assert.equal((await names('q=')).length, 5);
      const first = await t.call('GET', '/v1/tenants?q=acme&limit=1', { auth: adminAuth });
      assert.equal(first.json().items.length, 1);
      assert.ok(first.json().next_cursor);
      const second = await t.call('GET', `/v1/tenants?q=acme&limit=1&cursor=${first.json().next_cursor}`, { auth: adminAuth });
      assert.equal(second.json().items.length, 1);
      assert.equal(second.json().next_cursor, null);
      assert.deepEqual([first.json().items[0].name, second.json().items[0].name].sort(), ['Acme Shop', 'acme bank']);
    });

    test('bad input is a 400 problem and needs the admin key', async () => {
      for (const q of ['x'.repeat(101), 'a\u0000b', 'line\nbreak']) {
        const r = await t.call('GET', `/v1/tenants?q=${encodeURIComponent(q)}`, { auth: adminAuth });
        assert.equal(r.statusCode, 400, r.body);
        assert.match(r.headers['content-type'] as string, /application\/problem\+json/);
        assert.equal(r.json().code, 'request.invalid');
      }
      const twice = await t.call('GET', '/v1/tenants?q=a&q=b', { auth: adminAuth });
      assert.equal(twice.statusCode, 400, twice.body);
      const anon = await t.call('GET', '/v1/tenants?q=acme');
      assert.equal(anon.statusCode, 401);
    });
  });
}
