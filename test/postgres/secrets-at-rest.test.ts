import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';
import { adminAuth, createTestApp, TEST_ADMIN_KEY, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { postgresSkipReason, withPg } from './support.js';

const skip = await postgresSkipReason('secrets at rest');

const GW_KEY = 'gw-at-rest-key-PgOnly-7f3a9c21';
const TW = twilioFixtures.withSenderNumber;
const PHONE = '+14155552671';

/**
 * What the SQLite suites check by reading the database file (test/integration/secrets-and-auth,
 * providers-config-api), on PostgreSQL: every row of every table, read back as text, holds
 * neither a provider secret, nor the API key, nor the passcode (or the SMS it was sent in).
 * Provider configurations are sealed as a whole; keys are stored as hashes; a message body
 * only sealed and masked; a code only as an HMAC.
 */
describe('secrets sealed at rest on PostgreSQL', { skip }, () => {
  let t: TestApp;
  let gw: CustomGatewayFake;
  before(async () => {
    gw = await startCustomGatewayFake({ apiKey: GW_KEY });
    t = await createTestApp({ dialect: 'postgres' });
  });
  after(async () => {
    await t?.close();
    await gw?.close();
  });

  /** Every row of every table in the schema, as `row_to_json` and as the row's text form. */
  async function dumpRows(): Promise<{ text: string; rowsPerTable: Map<string, number> }> {
    return withPg(t.dbUrl, async (c) => {
      const tables = (await c.query<{ t: string }>(`select tablename as t from pg_tables where schemaname = current_schema() order by 1`)).rows.map((r) => r.t);
      const rowsPerTable = new Map<string, number>();
      const parts: string[] = [];
      for (const table of tables) {
        const q = `"${table.replace(/"/g, '""')}"`;
        const { rows } = await c.query<{ j: string; r: string }>(`select row_to_json(x)::text as j, x::text as r from ${q} x`);
        rowsPerTable.set(table, rows.length);
        for (const row of rows) parts.push(row.j, row.r);
      }
      return { text: parts.join('\n'), rowsPerTable };
    });
  }

  /** `pg_dump --data-only` of the test database, when pg_dump is installed (it is beside the server in CI). */
  function pgDump(): string | undefined {
    const r = spawnSync('pg_dump', ['--data-only', '--no-owner', t.dbUrl], { encoding: 'utf8', timeout: 60_000 });
    if (r.error || r.status !== 0) return undefined;
    return r.stdout;
  }

  test('provider secrets, the API key and the passcode are nowhere in clear', { timeout: 60_000 }, async (ctx) => {
    const { auth, apiKey, tenantId } = await t.createTenant();
    const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', {
      auth,
      body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY }, fallback: { provider: 'Twilio', twilio: TW } },
    });
    assert.equal(put.statusCode, 200, put.body);
    assert.ok(!put.body.includes(GW_KEY) && !put.body.includes(TW.auth_token), 'the answer masks the secrets');

    const s = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
    assert.equal(s.statusCode, 202, s.body);
    const { challenge_id, message_id } = s.json<{ challenge_id: string; message_id: string }>();
    await t.drainOutbox();
    const sms = gw.messages.at(-1);
    assert.ok(sms, 'the gateway received the SMS');
    const code = /\b(\d{4,10})\b/.exec(sms.message)![1]!;
    // A wrong try first (an attempt row), then the right code.
    const wrong = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id, code: code === '000000' ? '111111' : '000000' } });
    assert.equal(wrong.statusCode, 400, wrong.body);
    const ok = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id, code } });
    assert.equal(ok.json<{ verified: boolean }>().verified, true, ok.body);

    const { text, rowsPerTable } = await dumpRows();
    // The dump saw the rows that would hold them.
    assert.equal(rowsPerTable.get('provider_configs'), 2, 'primary and fallback stored');
    assert.ok((rowsPerTable.get('api_keys') ?? 0) >= 1);
    for (const id of [tenantId, challenge_id, message_id]) assert.ok(text.includes(id), `${id} in the dump`);
    assert.ok((rowsPerTable.get('message_attempts') ?? 0) >= 1 && (rowsPerTable.get('audit_log') ?? 0) >= 1);

    const secrets: Array<[string, string]> = [
      ['the custom gateway key', GW_KEY],
      ['the Twilio auth token', TW.auth_token],
      ['the tenant API key', apiKey],
      ['the admin key', TEST_ADMIN_KEY],
      ['the secret key', TEST_SECRET_KEY],
      ['the SMS as sent', sms.message],
    ];
    // The code alone is a short digit run: look for it as a number of its own, not inside a timestamp.
    const codeInClear = new RegExp(`(?<![0-9])${code}(?![0-9])`);
    const dumps: Array<[string, string]> = [['row_to_json and row text of every table', text]];
    const dump = pgDump();
    if (dump !== undefined) dumps.push(['pg_dump --data-only', dump]);
    else ctx.diagnostic('pg_dump is not installed: checked the rows only');
    for (const [how, content] of dumps) {
      // The phone number is stored in clear: a value written by a request does show up here.
      assert.ok(content.includes(PHONE), `${how} shows the rows' values`);
      for (const [what, value] of secrets) assert.ok(!content.includes(value), `${what} is in clear in ${how}`);
      assert.doesNotMatch(content, codeInClear, `the passcode is in clear in ${how}`);
    }
    // The admin API reads the same rows back without the secrets either.
    const audit = await t.call('GET', `/v1/tenants/${tenantId}/audit-log?limit=100`, { auth: adminAuth });
    for (const [what, value] of secrets) assert.ok(!audit.body.includes(value), `${what} in the audit log answer`);
  });
});
