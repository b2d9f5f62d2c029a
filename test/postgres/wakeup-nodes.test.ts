import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { captureLogs } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/databases.js';
import { messageStatus, pgNodeConfig, postgresSkipReason, sendVia, tenantAuth, waitFor, withPg } from './support.js';

const skip = await postgresSkipReason('wake-up between servers');

/** Two servers (startServer, as main.ts runs it) in this process on one database, Inbox provider. */
describe('servers on one PostgreSQL wake each other', { skip }, () => {
  let db: { url: string; drop(): Promise<void> };
  const servers: RunningServer[] = [];
  const dirs: string[] = [];

  async function server(pollMs: number): Promise<RunningServer> {
    const config = pgNodeConfig(db.url, dirs);
    const s = await startServer(config, createLogger({ level: 'info', destination: captureLogs().stream }), { dispatchPollMs: pollMs });
    servers.push(s);
    return s;
  }

  const tenant = (s: RunningServer) => tenantAuth(s, 'Wake');
  const statusOf = (id: string) => messageStatus(db.url, id);

  before(async () => {
    db = await createTestDatabase('postgres');
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('a send on A is delivered by B at once (NOTIFY), though B would not poll for a minute', async () => {
    const a = await server(60_000);
    const b = await server(60_000);
    assert.ok(a.wakeup?.listening && b.wakeup?.listening);
    const auth = await tenant(a);
    // A's dispatcher is stopped: only B can deliver, and only a notification can wake it in time.
    await a.deps.dispatcher.stop(0);
    const started = Date.now();
    const id = await sendVia(a, auth, '+12025550150');
    await waitFor('B to deliver', async () => (await statusOf(id)) === 'sent', 5000, 10);
    assert.ok(Date.now() - started < 5000);
    assert.ok((b.wakeup?.stats.received ?? 0) >= 1);
    assert.ok((a.wakeup?.stats.sent ?? 0) >= 1);
  });

  // The LISTEN connections come back within ~100 ms here, and the reconnect itself wakes the
  // dispatcher; delivery by polling alone, with no LISTEN at all, is wakeup-polling.test.ts.
  test('with the LISTEN connections killed, messages are still delivered and LISTEN comes back', async () => {
    const a = await server(60_000);
    const b = await server(300);
    const auth = await tenant(a);
    await a.deps.dispatcher.stop(0);
    await withPg(db.url, (c) => c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'otpgate-listen'`));
    const id = await sendVia(a, auth, '+12025550151');
    await waitFor('B to deliver without LISTEN', async () => (await statusOf(id)) === 'sent', 5000, 20);
    await waitFor('LISTEN restored', () => (a.wakeup?.listening ?? false) && (b.wakeup?.listening ?? false) && (b.wakeup?.stats.reconnects ?? 0) >= 1, 15_000);
  });

  test('stop() closes the LISTEN connection', async () => {
    const c = await server(1000);
    const count = () =>
      withPg(db.url, async (cl) => Number((await cl.query<{ n: string }>(`select count(*) as n from pg_stat_activity where datname = current_database() and application_name = 'otpgate-listen'`)).rows[0]!.n));
    const before = await count();
    await c.stop();
    servers.splice(servers.indexOf(c), 1);
    await waitFor('one LISTEN connection fewer', async () => (await count()) === before - 1, 5000);
  });
});
