import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config/load.js';
import type { Database } from '../../src/store/schema.js';
import type { RunningServer } from '../../src/server.js';
import { TEST_ADMIN_KEY, TEST_SECRET_KEY } from '../helpers/app.js';
import { adminPgUrl, createTestDatabase, isPostgresReachable } from '../helpers/databases.js';

/**
 * Whether the PostgreSQL-only suites (test/postgres, test/multinode) run: `false` when the
 * test server answers, else the reason to skip them, also written to stderr. In CI
 * (CI=true) an unreachable server is an error, never a skip.
 */
export async function postgresSkipReason(suite: string): Promise<string | false> {
  if (await isPostgresReachable()) return false;
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI but ${adminPgUrl} does not answer`);
  const u = new URL(adminPgUrl);
  const reason = `PostgreSQL at ${u.host}${u.pathname} does not answer; start it (or set OTPGATE_TEST_PG_URL) to run the ${suite} suite`;
  process.stderr.write(`# skipping: ${reason}\n`);
  return reason;
}

/** Runs `fn` with a short-lived client on `url`. */
export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The query configs this process gives node-postgres clients while `fn` runs: the text, and the name of a prepared one. */
export async function queriesOf(fn: () => Promise<unknown>): Promise<Array<{ name?: string; text: string }>> {
  const seen: Array<{ name?: string; text: string }> = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0];
    if (typeof q === 'string') seen.push({ text: q });
    else seen.push({ name: (q as { name?: string })?.name, text: (q as { text?: string })?.text ?? '' });
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    await fn();
  } finally {
    pg.Client.prototype.query = original;
  }
  return seen;
}

/** Every statement this process sends to PostgreSQL while `fn` runs (node-postgres clients). */
export async function statementsOf(fn: () => Promise<unknown>): Promise<string[]> {
  return (await queriesOf(fn)).map((q) => q.text);
}

/** Polls `check` every `everyMs` until it returns true, or throws after `timeoutMs` saying what it waited for. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Waits until a key's first use is written (`last_used_at`, a write of its own off the
 * request's path), so that its commit cannot fall inside a later request's counted statements.
 */
export async function keyUseRecorded(db: Kysely<Database>, keyId: string): Promise<void> {
  await waitFor('the key’s use recorded', async () => {
    const row = await db.selectFrom('api_keys').select('last_used_at').where('id', '=', keyId).executeTakeFirst();
    return row?.last_used_at != null;
  });
}

/**
 * A fresh database and a login role that does not own it and may not create anything in its
 * `public` schema: PostgreSQL 15 no longer grants CREATE on `public` to PUBLIC, and the schema
 * belongs to the database owner (the admin user of the tests). `url` connects as that role
 * (trust authentication on the test server); `drop()` removes the database, then the role.
 */
export async function databaseWithoutCreate(): Promise<{ url: string; role: string; drop(): Promise<void> }> {
  const db = await createTestDatabase('postgres');
  const role = `otpgate_nocreate_${randomBytes(5).toString('hex')}`;
  await withPg(adminPgUrl, (c) => c.query(`create role ${role} login`));
  const url = new URL(db.url);
  url.username = role;
  url.password = '';
  const canCreate = await withPg(db.url, async (c) => (await c.query<{ ok: boolean }>(`select has_schema_privilege($1, 'public', 'CREATE') as ok`, [role])).rows[0]!.ok);
  if (canCreate) throw new Error(`${role} may create in public: this needs PostgreSQL 15 or later (CREATE on public revoked from PUBLIC)`);
  return {
    url: url.toString(),
    role,
    async drop() {
      await db.drop();
      await withPg(adminPgUrl, (c) => c.query(`drop role if exists ${role}`));
    },
  };
}

/** `host:port` of a PostgreSQL URL as start-up errors print it ("PostgreSQL at host:port"), escaped for a RegExp. */
export function hostPortPattern(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}`.replace(/\./g, '\\.');
}

/** A tenant (no cooldown, a high hourly cap) with an API key, made through `s`; answers the Authorization header value. */
export async function tenantAuth(s: RunningServer, name: string): Promise<string> {
  const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
  const t = await s.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name, settings: { resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 1000, fraud_guard: { mode: 'off' } } } });
  const k = await s.app.inject({ method: 'POST', url: `/v1/tenants/${t.json<{ id: string }>().id}/api-keys`, headers: admin, payload: {} });
  return `Bearer ${k.json<{ key: string }>().key}`;
}

/** Sends a passcode through `s`; answers the message id. */
export async function sendVia(s: RunningServer, auth: string, phone: string): Promise<string> {
  const r = await s.app.inject({ method: 'POST', url: '/v1/otp/send', headers: { authorization: auth }, payload: { phone_number: phone } });
  assert.equal(r.statusCode, 202, r.body);
  return r.json<{ message_id: string }>().message_id;
}

/** A message's status, read straight from the database. */
export function messageStatus(url: string, id: string): Promise<string | undefined> {
  return withPg(url, async (c) => (await c.query<{ status: string }>('select status from messages where id = $1', [id])).rows[0]?.status);
}

/** The configuration of a test node on the PostgreSQL database `url` (pool of 3), with a data folder of its own pushed onto `dirs` (the caller removes them). */
export function pgNodeConfig(url: string, dirs: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-node-'));
  dirs.push(dir);
  return loadConfig({
    OTPGATE_DATABASE_URL: url,
    OTPGATE_ADMIN_KEY: TEST_ADMIN_KEY,
    OTPGATE_SECRET_KEY: TEST_SECRET_KEY,
    OTPGATE_DATA_DIR: dir,
    OTPGATE_PORT: '0',
    OTPGATE_PG_POOL_SIZE: '3',
  });
}
