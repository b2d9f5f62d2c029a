import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { after, describe, test } from 'node:test';
import { createStore, migrateToLatest } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations/index.js';
import { createTestDatabase } from '../helpers/databases.js';
import { spawnOtpgate, type OtpgateProcess } from '../multinode/node-process.js';
import { postgresSkipReason, withPg } from './support.js';

const skip = await postgresSkipReason('concurrent migration');
const migrationNames = Object.keys(migrations).sort();
/** The advisory lock key Kysely's PostgresAdapter takes around migrations. */
const KYSELY_MIGRATION_LOCK_ID = '3853314791062309107';

/** Runs the fixture as its own process; resolves with its exit code and stdout. */
function migrateInProcess(url: string, at: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/postgres/fixtures/migrate-at.ts', url, String(at)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What the database holds: each migration once, every table of the schema. */
async function assertSchemaOnce(url: string): Promise<void> {
  await withPg(url, async (c) => {
    const rows = (await c.query<{ name: string }>('select name from kysely_migration order by name')).rows.map((r) => r.name);
    assert.deepEqual(rows, migrationNames, 'each migration recorded exactly once');
    const tables = (await c.query<{ n: string }>(`select count(*) as n from information_schema.tables where table_schema = 'public' and table_name = 'messages'`)).rows;
    assert.equal(Number(tables[0]!.n), 1);
    const lock = (await c.query<{ is_locked: number }>('select is_locked from kysely_migration_lock')).rows;
    assert.equal(lock.length, 1);
  });
}

describe('migrations when several nodes start at once', { skip }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  test('three processes migrating one fresh database at the same instant: all succeed, the schema is applied once', async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    // Far enough ahead for every process to have started and connected (tsx takes ~2 s each).
    const at = Date.now() + 8000;
    const results = await Promise.all([0, 1, 2].map(() => migrateInProcess(db.url, at)));
    for (const r of results) assert.equal(r.code, 0, `a migrator failed: ${r.stderr}`);
    const applied = results.map((r) => (JSON.parse(r.stdout.trim()) as { applied: string[] }).applied);
    // Exactly one of them applied the migrations; the others waited on the lock and found nothing to do.
    assert.equal(applied.filter((a) => a.length > 0).length, 1, JSON.stringify(applied));
    assert.deepEqual(applied.find((a) => a.length > 0), migrationNames);
    await assertSchemaOnce(db.url);
  });

  test('two otpgate nodes started together on a fresh database both come up', async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    const nodes: OtpgateProcess[] = [];
    cleanups.push(async () => {
      for (const n of nodes) await n.kill();
    });
    const started = await Promise.allSettled([spawnOtpgate(db.url), spawnOtpgate(db.url)]);
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    for (const s of started) assert.equal(s.status, 'fulfilled', s.status === 'rejected' ? String(s.reason) : '');
    for (const n of nodes) assert.equal((await fetch(`${n.url}/readyz`)).status, 200);
    await assertSchemaOnce(db.url);
  });

  test('a node waits for another node\'s long migration (its statement timeout does not cut the wait)', async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    // Another node "migrating" for 4 s: it holds Kysely's migration lock.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query(`select pg_advisory_lock(${KYSELY_MIGRATION_LOCK_ID})`);
    const store = createStore(db.url, { pgPoolSize: 2, pgStatementTimeoutMs: 500 });
    cleanups.push(() => store.close());
    const started = Date.now();
    const migrating = migrateToLatest(store);
    await new Promise((r) => setTimeout(r, 4000));
    await holder.query(`select pg_advisory_unlock(${KYSELY_MIGRATION_LOCK_ID})`);
    assert.deepEqual(await migrating, migrationNames);
    assert.ok(Date.now() - started >= 4000);
    await assertSchemaOnce(db.url);
    // The pool's own statements still have the configured timeout.
    await assert.rejects(store.pgPool!.query('select pg_sleep(2)'), /statement timeout/);
  });

  test('in one process, 4 stores × 10 rounds racing on fresh databases never fail', async () => {
    for (let round = 0; round < 10; round++) {
      const db = await createTestDatabase('postgres');
      cleanups.push(db.drop);
      const stores = [0, 1, 2, 3].map(() => createStore(db.url, { pgPoolSize: 2 }));
      try {
        const applied = await Promise.all(stores.map((s) => migrateToLatest(s)));
        assert.equal(applied.filter((a) => a.length > 0).length, 1, `round ${round}: ${JSON.stringify(applied)}`);
        await assertSchemaOnce(db.url);
      } finally {
        for (const s of stores) await s.close();
      }
    }
  });
});
