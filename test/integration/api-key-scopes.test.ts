import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { sha256Hex } from '../../src/crypto/hmac.js';
import { envNames } from '../../src/config/schema.js';
import { API_KEY_SCOPES } from '../../src/domain/scopes.js';
import { createStore } from '../../src/store/db.js';
import { staticMigrationProvider } from '../../src/store/migrations/index.js';
import { sidOf } from '../../src/domain/twilio-sids.js';
import { adminAuth, createTestApp, TEST_ADMIN_KEY, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { createTestDatabase, testDialects } from '../helpers/databases.js';

/** Scoped API keys (docs/api-keys.md): created with scopes, enforced on every route, old keys keep all. */
const PHONE = '+14155552671';
const OLD_KEY = 'otpg_made_before_scopes_0123456789abcdefghij';

for (const dialect of await testDialects()) {
  describe(`API key scopes (${dialect})`, () => {
    let t: TestApp;
    let tenantId: string;
    let drop: () => Promise<void>;
    before(async () => {
      // A key made before migration 0014: the database stops at 0012, gets a tenant and a key,
      // and is then migrated to the latest by the app.
      const db = await createTestDatabase(dialect);
      drop = db.drop;
      const store = createStore(db.url);
      try {
        const r = await new Migrator({ db: store.db, provider: staticMigrationProvider }).migrateTo('0012-fraud-counters-key-order');
        assert.equal(r.error, undefined);
        const k = store.db as unknown as Kysely<any>;
        await k.insertInto('tenants').values({ id: 'ten_old', name: 'Old', settings: '{}', created_at: 0, updated_at: 0 }).execute();
        await k.insertInto('api_keys').values({ id: 'key_old', tenant_id: 'ten_old', name: 'old', key_hash: sha256Hex(OLD_KEY), key_prefix: OLD_KEY.slice(0, 12), created_at: 0, last_used_at: null, revoked_at: null }).execute();
      } finally {
        await store.close();
      }
      t = await createTestApp({ dialect, dbUrl: db.url });
      tenantId = (await t.createTenant()).tenantId;
    });
    after(async () => {
      await t.close();
      await drop();
    });

    const keyWith = async (body: unknown) => t.call('POST', `/v1/tenants/${tenantId}/api-keys`, { auth: adminAuth, body });

    test('a key made before scopes keeps every scope', async () => {
      const auth = `Bearer ${OLD_KEY}`;
      assert.equal((await t.call('GET', '/cis/v1/tenantsmsproviders', { auth })).statusCode, 200);
      assert.equal((await t.call('GET', '/v1/messages', { auth })).statusCode, 200);
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).statusCode, 202);
      const list = await t.call('GET', '/v1/tenants/ten_old/api-keys', { auth: adminAuth });
      assert.deepEqual(list.json().items[0].scopes, [...API_KEY_SCOPES]);
    });

    test('a send-and-verify key sends and verifies, and cannot read or change providers', async () => {
      const created = await keyWith({ name: 'backend', scopes: ['otp'] });
      assert.equal(created.statusCode, 201, created.body);
      assert.deepEqual(created.json().scopes, ['otp']);
      const auth = `Bearer ${created.json().key}`;
      const sent = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
      assert.equal(sent.statusCode, 202, sent.body);
      await t.drainOutbox();
      // The inbox is messages:read: the test reads the code with the admin key.
      const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(PHONE)}`, { auth: adminAuth, headers: { 'x-tenant-id': tenantId } });
      const code = /(\d{6})/.exec(inbox.json().items[0].body)![1]!;
      const ok = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: sent.json().challenge_id, code } });
      assert.equal(ok.statusCode, 200, ok.body);

      const before = (await t.call('GET', '/cis/v1/tenantsmsproviders', { auth: adminAuth, headers: { 'x-tenant-id': tenantId } })).body;
      for (const [method, url, body] of [
        ['GET', '/cis/v1/tenantsmsproviders', undefined],
        ['PUT', '/cis/v1/tenantsmsproviders', { provider: 'Inbox' }],
        ['POST', '/v1/sms-provider/test', { phone_number: PHONE }],
      ] as const) {
        const res = await t.call(method, url, { auth, ...(body ? { body } : {}) });
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
        assert.equal(res.json().code, 'auth.forbidden');
        assert.equal(res.json().required_scope, 'providers');
        assert.match(res.json().detail, /providers/);
      }
      assert.equal((await t.call('GET', '/cis/v1/tenantsmsproviders', { auth: adminAuth, headers: { 'x-tenant-id': tenantId } })).body, before, 'nothing changed');
      const read = await t.call('GET', '/v1/messages', { auth });
      assert.equal(read.statusCode, 403);
      assert.equal(read.json().required_scope, 'messages:read');
      assert.equal((await t.call('PUT', '/v1/templates/login/en', { auth, body: { body: 'Code {{code}}' } })).json().required_scope, 'settings');
      assert.equal((await t.call('GET', '/v1/receivers', { auth })).json().required_scope, 'events');
      // The admin key keeps every route.
      assert.equal((await t.call('GET', '/v1/templates', { auth: adminAuth, headers: { 'x-tenant-id': tenantId } })).statusCode, 200);
    });

    test('an access token carries its key’s scopes', async () => {
      const k = (await keyWith({ scopes: ['messages:read'] })).json();
      const tok = await t.app.inject({
        method: 'POST',
        url: '/oauth2/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=client_credentials&client_id=${k.id}&client_secret=${encodeURIComponent(k.key)}`,
      });
      assert.equal(tok.statusCode, 200, tok.body);
      const auth = `Bearer ${tok.json().access_token}`;
      assert.equal((await t.call('GET', '/v1/messages', { auth })).statusCode, 200);
      const send = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
      assert.equal(send.statusCode, 403);
      assert.equal(send.json().required_scope, 'otp');
    });

    test('the Twilio-compatible API needs the otp scope', async () => {
      const reader = (await keyWith({ scopes: ['messages:read', 'providers', 'settings', 'events'] })).json();
      const sender = (await keyWith({ scopes: ['otp'] })).json();
      const basic = (k: { key: string }) => `Basic ${Buffer.from(`${sidOf(tenantId, 'ten')}:${k.key}`).toString('base64')}`;
      const refused = await t.app.inject({ method: 'GET', url: '/v2/Services', headers: { authorization: basic(reader) } });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json().code, 20403);
      const created = await t.app.inject({ method: 'POST', url: '/v2/Services', headers: { authorization: basic(reader), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'FriendlyName=Nope' });
      assert.equal(created.statusCode, 403);
      const listed = await t.app.inject({ method: 'GET', url: '/v2/Services', headers: { authorization: basic(sender) } });
      assert.equal(listed.statusCode, 200, listed.body);
      assert.equal(listed.json().services.length, 0, 'the refused create made nothing');
    });

    test('unknown, empty or repeated scopes are refused and create nothing', async () => {
      const count = async () => (await t.call('GET', `/v1/tenants/${tenantId}/api-keys?limit=100`, { auth: adminAuth })).json().items.length;
      const n = await count();
      for (const scopes of [['otp', 'admin'], [], ['otp', 'otp'], 'otp', [1], ['OTP']]) {
        const res = await keyWith({ scopes });
        assert.equal(res.statusCode, 400, `${JSON.stringify(scopes)}: ${res.body}`);
        assert.equal(res.json().code, 'request.invalid');
      }
      assert.equal(await count(), n);
      // The audit log records what a new key may do.
      const k = (await keyWith({ scopes: ['events', 'otp'] })).json();
      assert.deepEqual(k.scopes, ['otp', 'events'], 'in catalog order');
      const audit = await t.call('GET', `/v1/tenants/${tenantId}/audit-log?limit=100`, { auth: adminAuth });
      const entry = audit.json().items.find((e: { target: string }) => e.target === k.id);
      assert.deepEqual(entry.details.scopes, ['otp', 'events']);
      // Every scope listed is the same key as none listed.
      assert.deepEqual((await keyWith({ scopes: [...API_KEY_SCOPES].reverse() })).json().scopes, [...API_KEY_SCOPES]);
    });
  });
}

test('otpgate key create --scopes', async () => {
  const t = await createTestApp();
  const dataDir = mkdtempSync(join(tmpdir(), 'otpgate-cli-'));
  try {
    const { tenantId } = await t.createTenant();
    const settings = new Set(Object.values(envNames));
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !settings.has(k))),
      OTPGATE_DATABASE_URL: t.dbUrl,
      OTPGATE_ADMIN_KEY: TEST_ADMIN_KEY,
      OTPGATE_SECRET_KEY: TEST_SECRET_KEY,
      OTPGATE_DATA_DIR: dataDir,
    };
    const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env, encoding: 'utf8', timeout: 30_000 });
    const ok = cli(['key', 'create', tenantId, 'backend', '--scopes', 'otp,messages:read']);
    assert.equal(ok.status, 0, ok.stderr);
    const key = JSON.parse(ok.stdout);
    assert.deepEqual(key.scopes, ['otp', 'messages:read']);
    assert.equal(key.name, 'backend');
    assert.equal((await t.call('GET', '/cis/v1/tenantsmsproviders', { auth: `Bearer ${key.key}` })).statusCode, 403);
    const bad = cli(['key', 'create', tenantId, '--scopes=otp,admin']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /request\.invalid: .*scope/i);
    assert.equal(bad.stdout, '');
  } finally {
    await t.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
