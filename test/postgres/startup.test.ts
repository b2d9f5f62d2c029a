import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { adminPgUrl, createTestDatabase } from '../helpers/databases.js';
import { spawnOtpgate } from '../multinode/node-process.js';
import { databaseWithoutCreate, hostPortPattern, postgresSkipReason, withPg } from './support.js';
import { migrations } from '../../src/store/migrations/index.js';

const skip = await postgresSkipReason('PostgreSQL start-up');

/** A local TCP server; `onSocket` decides what it does with each connection. */
async function tcpServer(onSocket: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * Speaks just enough of the PostgreSQL wire protocol to ask for a cleartext password and then
 * refuse it with SQLSTATE 28P01, as a server with password authentication does (the test
 * server trusts local connections, so it cannot produce this error itself).
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
 */
function refusePassword(s: net.Socket): void {
  let stage = 0;
  s.on('data', () => {
    if (stage === 0) {
      stage = 1;
      const auth = Buffer.alloc(9);
      auth.write('R', 0);
      auth.writeInt32BE(8, 1);
      auth.writeInt32BE(3, 5); // AuthenticationCleartextPassword
      s.write(auth);
      return;
    }
    const fields = Buffer.from('SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "otpgate"\0\0', 'utf8');
    const head = Buffer.alloc(5);
    head.write('E', 0);
    head.writeInt32BE(4 + fields.length, 1);
    s.end(Buffer.concat([head, fields]));
  });
}

function withDatabase(url: string, name: string, user?: string, password?: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  if (user !== undefined) u.username = user;
  if (password !== undefined) u.password = password;
  return u.toString();
}

/** Runs otpgate with this database URL and expects it to refuse to start. */
async function expectStartFailure(databaseUrl: string): Promise<{ code: number | string; stderr: string }> {
  const p = await spawnOtpgate(databaseUrl, {}, { waitListening: false });
  const timer = setTimeout(() => void p.kill(), 30_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stderr: p.stderr() };
}

function assertOneClearLine(stderr: string, sentence: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/^\(node:\d+\) |^\(Use `node --trace/.test(l));
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(lines[0]!, /^otpgate: could not start: /);
  assert.match(lines[0]!, sentence);
  assert.doesNotMatch(stderr, /\n\s+at |Error:|node_modules/, 'no stack trace');
}

describe('start-up on PostgreSQL', { skip, concurrency: true }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c().catch(() => undefined);
  });

  test('nothing listens at the host and port: a clear one-line error, exit ≠ 0', async () => {
    const { code, stderr } = await expectStartFailure('postgres://postgres@127.0.0.1:1/otpgate');
    assert.notEqual(code, 0);
    assertOneClearLine(stderr, /PostgreSQL at 127\.0\.0\.1:1 \(database "otpgate"\) refused the connection .*OTPGATE_DATABASE_URL/);
  });

  test('a host that accepts TCP but never answers: a time-out, not a hang', async () => {
    const silent = await tcpServer(() => undefined);
    cleanups.push(silent.close);
    // expectStartFailure kills a process still running after 30 s: a hang fails here.
    const { code, stderr } = await expectStartFailure(`postgres://postgres@127.0.0.1:${silent.port}/otpgate`);
    assert.notEqual(code, 0);
    assertOneClearLine(stderr, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${silent.port} .*did not answer in time`));
  });

  test('a host name that does not resolve', async () => {
    const { code, stderr } = await expectStartFailure('postgres://postgres@no-such-host.invalid:5432/otpgate');
    assert.notEqual(code, 0);
    assertOneClearLine(stderr, /database host name "no-such-host\.invalid" does not resolve; check OTPGATE_DATABASE_URL/);
  });

  test('a wrong password: says so, and never prints it', async () => {
    const server = await tcpServer(refusePassword);
    cleanups.push(server.close);
    const { code, stderr } = await expectStartFailure(`postgres://otpgate:Sup3rS3cretPw@127.0.0.1:${server.port}/otpgate`);
    assert.notEqual(code, 0);
    assertOneClearLine(stderr, /rejected the password \(password authentication failed for user "otpgate"\); check the credentials in OTPGATE_DATABASE_URL/);
    assert.doesNotMatch(stderr, /Sup3rS3cretPw/);
  });

  test('an unknown user on the real server', async () => {
    const { code, stderr } = await expectStartFailure(withDatabase(adminPgUrl, 'test', 'no_such_role_x', 'pw_x_secret'));
    assert.notEqual(code, 0);
    assertOneClearLine(stderr, /refused the login \(role "no_such_role_x" does not exist\)/);
    assert.doesNotMatch(stderr, /pw_x_secret/);
  });

  test('a database that does not exist', async () => {
    const { code, stderr } = await expectStartFailure(withDatabase(adminPgUrl, 'otpgate_no_such_db'));
    assert.notEqual(code, 0);
    assertOneClearLine(stderr, /\(database "otpgate_no_such_db"\): the database does not exist; create it/);
  });

  test('a role that may not create the schema (PostgreSQL 15 default on public): says so, in one line', async () => {
    const db = await databaseWithoutCreate();
    cleanups.push(db.drop);
    const { code, stderr } = await expectStartFailure(db.url);
    assert.notEqual(code, 0);
    const name = new URL(db.url).pathname.slice(1);
    assertOneClearLine(
      stderr,
      new RegExp(`PostgreSQL at ${hostPortPattern(adminPgUrl)} \\(database "${name}"\\): the user may not create the schema \\(permission denied for schema public\\); grant it CREATE on the schema .*\`otpgate migrate\` as the database owner`),
    );
    const tables = await withPg(withDatabase(adminPgUrl, name), async (c) =>
      (await c.query(`select 1 from information_schema.tables where table_schema = 'public'`)).rowCount,
    );
    assert.equal(tables, 0, 'nothing was created');
  });

  test('a database without the schema is migrated, and a restart finds nothing to do', async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    const first = await spawnOtpgate(db.url);
    cleanups.push(() => first.kill());
    const tables = await withPg(db.url, async (c) =>
      (await c.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' order by 1`)).rows.map((r) => r.table_name),
    );
    for (const t of ['tenants', 'api_keys', 'challenges', 'messages', 'message_attempts', 'audit_log', 'kysely_migration']) assert.ok(tables.includes(t), `${t} exists`);
    const health = await fetch(`${first.url}/readyz`);
    assert.equal(health.status, 200);
    await first.stop();
    assert.equal(await first.exited, 0);
    const second = await spawnOtpgate(db.url);
    cleanups.push(() => second.kill());
    await second.stop();
    const applied = await withPg(db.url, async (c) => (await c.query('select name from kysely_migration')).rowCount);
    assert.equal(applied, Object.keys(migrations).length, 'every migration recorded once, none again');
  });

  test('keys generated into one node\'s data folder are called out (other nodes would not share them)', async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    // Empty values count as unset: development then generates both keys into the data folder.
    const node = await spawnOtpgate(db.url, { OTPGATE_SECRET_KEY: '', OTPGATE_ADMIN_KEY: '' });
    cleanups.push(() => node.kill());
    const warning = node.logs.find((l) => Array.isArray(l['generated']));
    assert.ok(warning, 'a warning about generated keys');
    assert.deepEqual(warning['generated'], ['OTPGATE_SECRET_KEY', 'OTPGATE_ADMIN_KEY']);
    assert.match(String(warning['msg']), /every node sharing this database needs the same value/);
    await node.stop();
  });
});
