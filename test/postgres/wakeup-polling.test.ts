import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createStore } from '../../src/store/db.js';
import { captureLogs } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/databases.js';
import { messageStatus, pgNodeConfig, postgresSkipReason, sendVia, tenantAuth, waitFor } from './support.js';

const skip = await postgresSkipReason('polling without LISTEN');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A node whose LISTEN connection can never be made (its client points at a closed port, so it
 * never connects and never reconnects: no notification and no "reconnected" wake-up reach its
 * dispatcher) still delivers what another node enqueued, by polling, within the poll interval.
 * The control case, the same node with polling set to a minute, delivers nothing meanwhile:
 * the delivery really comes from polling.
 */
describe('a node that cannot LISTEN falls back to polling', { skip }, () => {
  let db: { url: string; drop(): Promise<void> };
  const servers: RunningServer[] = [];
  const dirs: string[] = [];

  const config = () => pgNodeConfig(db.url, dirs);

  async function healthyNode(pollMs: number): Promise<RunningServer> {
    const s = await startServer(config(), createLogger({ level: 'info', destination: captureLogs().stream }), { dispatchPollMs: pollMs });
    servers.push(s);
    return s;
  }

  /** A node on the same database whose LISTEN client always fails to connect; `attempts` counts its tries. */
  async function deafNode(pollMs: number): Promise<{ server: RunningServer; attempts: () => number }> {
    let attempts = 0;
    const store = createStore(db.url, { pgPoolSize: 3 });
    store.newPgClient = () => {
      attempts += 1;
      return new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 1000 });
    };
    const s = await startServer(config(), createLogger({ level: 'info', destination: captureLogs().stream }), { store, dispatchPollMs: pollMs });
    servers.push(s);
    return { server: s, attempts: () => attempts };
  }

  async function stop(s: RunningServer): Promise<void> {
    await s.stop();
    servers.splice(servers.indexOf(s), 1);
  }

  const tenant = (s: RunningServer) => tenantAuth(s, 'Poll');
  const statusOf = (id: string) => messageStatus(db.url, id);

  before(async () => {
    db = await createTestDatabase('postgres');
  });
  after(async () => {
    for (const s of [...servers]) await s.stop();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('without LISTEN, a send on A is delivered by B by polling, and only by polling', { timeout: 60_000 }, async (t) => {
    const a = await healthyNode(60_000);
    assert.ok(a.wakeup?.listening, 'A listens (and NOTIFYs)');
    const auth = await tenant(a);
    // Only B can deliver.
    await a.deps.dispatcher.stop(0);

    // Control: B cannot LISTEN and polls once a minute: nothing wakes it, nothing is delivered.
    const control = await deafNode(60_000);
    assert.equal(control.server.wakeup?.listening, false);
    assert.ok(control.attempts() >= 1, 'the LISTEN connection was tried');
    // Its look at start-up (which would take anything queued) is over before A enqueues.
    assert.ok(await control.server.deps.dispatcher.whenIdle(10_000), 'the start-up look ended');
    const parked = await sendVia(a, auth, '+12025550160');
    assert.ok((a.wakeup?.stats.sent ?? 0) >= 1, 'A sent its NOTIFY');
    await sleep(3000);
    assert.equal(await statusOf(parked), 'queued', 'without polling, a node that cannot LISTEN does not see the work');
    assert.equal(control.server.wakeup?.stats.received, 0);
    await stop(control.server);

    // The same node polling every 300 ms.
    const pollMs = 300;
    const b = await deafNode(pollMs);
    // Its first run at start-up takes the parked message; wait for that before timing.
    await waitFor('the parked message, at start-up', async () => (await statusOf(parked)) === 'sent', 10_000, 20);
    await sleep(2 * pollMs);
    const times: number[] = [];
    for (const phone of ['+12025550161', '+12025550162', '+12025550163']) {
      const started = Date.now();
      const id = await sendVia(a, auth, phone);
      await waitFor('B to deliver by polling', async () => (await statusOf(id)) === 'sent', 10_000, 10);
      times.push(Date.now() - started);
    }
    // Within one poll interval, plus the delivery itself and the checks' own round trips on a
    // slow, shared machine (the control above shows that, without polling, it takes > 3 s).
    t.diagnostic(`delivered by polling in ${times.join(', ')} ms (poll ${pollMs} ms)`);
    for (const ms of times) assert.ok(ms < pollMs + 1700, `delivered in ${times.join(', ')} ms`);
    assert.equal(b.server.wakeup?.listening, false, 'B never listened');
    assert.equal(b.server.wakeup?.stats.received, 0, 'no notification reached B');
    assert.equal(b.server.wakeup?.stats.reconnects, 0, 'no reconnect woke B');
    assert.ok(b.attempts() >= 1);
  });
});
