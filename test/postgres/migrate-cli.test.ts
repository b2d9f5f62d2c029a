import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { migrations } from '../../src/store/migrations/index.js';
import { adminPgUrl, createTestDatabase } from '../helpers/databases.js';
import { nodeEnv } from '../multinode/node-process.js';
import { databaseWithoutCreate, hostPortPattern, postgresSkipReason, withPg } from './support.js';

const skip = await postgresSkipReason('otpgate migrate');
const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const migrationNames = Object.keys(migrations).sort();

/** Runs `otpgate migrate` (src/cli.ts, as `npm run cli`) on this database; resolves with what it did. */
function migrate(databaseUrl: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { env, cleanup } = nodeEnv(databaseUrl);
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      cleanup();
      done({ code, stdout, stderr });
    });
  });
}

/** The one line on stderr (Node's own warnings aside), checked for a stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/^\(node:\d+\) |^\(Use `node --trace/.test(l));
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at |Error:|node_modules/, 'no stack trace');
  return lines[0]!;
}

const recorded = (url: string) =>
  withPg(url, async (c) => (await c.query<{ name: string; timestamp: string }>('select name, timestamp from kysely_migration order by name')).rows);

describe('otpgate migrate on PostgreSQL', { skip, concurrency: true }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c().catch(() => undefined);
  });

  test('migrates a fresh database, and a second run changes nothing', { timeout: 120_000 }, async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    const name = new URL(db.url).pathname.slice(1);
    const first = await migrate(db.url);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), `migrations applied (postgres ${new URL(adminPgUrl).hostname}:${new URL(adminPgUrl).port || 5432}/${name})`);
    const tables = await withPg(db.url, async (c) =>
      (await c.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public'`)).rows.map((r) => r.table_name),
    );
    for (const t of ['tenants', 'api_keys', 'challenges', 'messages', 'message_attempts', 'audit_log', 'kysely_migration']) assert.ok(tables.includes(t), `${t} exists`);
    const afterFirst = await recorded(db.url);
    assert.deepEqual(afterFirst.map((r) => r.name), migrationNames, 'every migration recorded once');

    const second = await migrate(db.url);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await recorded(db.url), afterFirst, 'nothing applied again (same rows, same times)');
  });

  test('nothing listens there: one line naming the place, as the server says it', async () => {
    const { code, stderr } = await migrate('postgres://postgres@127.0.0.1:1/otpgate');
    assert.equal(code, 1);
    assert.match(oneLine(stderr), /^otpgate: PostgreSQL at 127\.0\.0\.1:1 \(database "otpgate"\) refused the connection \(nothing listens there\); is PostgreSQL running, and is OTPGATE_DATABASE_URL right\?$/);
  });

  test('a database that does not exist', async () => {
    const u = new URL(adminPgUrl);
    u.pathname = '/otpgate_no_such_db';
    const { code, stderr } = await migrate(u.toString());
    assert.equal(code, 1);
    assert.match(oneLine(stderr), new RegExp(`^otpgate: PostgreSQL at ${hostPortPattern(adminPgUrl)} \\(database "otpgate_no_such_db"\\): the database does not exist; create it`));
  });

  test('a role that may not create the schema: 42501 in words, nothing created', async () => {
    const db = await databaseWithoutCreate();
    cleanups.push(db.drop);
    const name = new URL(db.url).pathname.slice(1);
    const { code, stderr } = await migrate(db.url);
    assert.equal(code, 1);
    assert.match(
      oneLine(stderr),
      new RegExp(`^otpgate: PostgreSQL at ${hostPortPattern(adminPgUrl)} \\(database "${name}"\\): the user may not create the schema \\(permission denied for schema public\\)`),
    );
    const u = new URL(adminPgUrl);
    u.pathname = `/${name}`;
    assert.equal(await withPg(u.toString(), async (c) => (await c.query(`select 1 from information_schema.tables where table_schema = 'public'`)).rowCount), 0);
  });
});
