import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';

/** Server used by the PostgreSQL suites; `OTPGATE_TEST_PG_URL` overrides it. */
export const adminPgUrl = process.env.OTPGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgReachable: Promise<boolean> | undefined;

/** True when the PostgreSQL server of the tests answers. */
export function isPostgresReachable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const client = new pg.Client({ connectionString: adminPgUrl, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgReachable;
}

/**
 * The dialects a dual-dialect suite runs on: SQLite always, PostgreSQL when reachable. In CI
 * (CI=true) PostgreSQL is required: .ci/run starts it, and its absence fails the run.
 */
export async function testDialects(): Promise<Dialect[]> {
  if (await isPostgresReachable()) return ['sqlite', 'postgres'];
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI but ${adminPgUrl} does not answer`);
  process.stderr.write(`# skipping the PostgreSQL runs: ${adminPgUrl} does not answer (start PostgreSQL to run them)\n`);
  return ['sqlite'];
}

/** A fresh, empty database of the dialect; `drop()` removes it. */
export async function createTestDatabase(dialect: Dialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'otpgate-test-'));
    return { url: `sqlite:${join(dir, 'otpgate.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `otpgate_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminPgUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminPgUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminPgUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
