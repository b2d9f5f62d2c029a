import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { captureLogs } from '../helpers/app.js';
import { adminPgUrl, createTestDatabase } from '../helpers/databases.js';
import { pgNodeConfig, postgresSkipReason, sendVia, tenantAuth, waitFor, withPg } from './support.js';

const skip = await postgresSkipReason('connection bound');

/**
 * A node opens at most OTPGATE_PG_POOL_SIZE connections for its work (application_name
 * `otpgate`), plus its one LISTEN connection (`otpgate-listen`), however much load it gets:
 * 150 concurrent sends with the dispatcher delivering meanwhile, with pg_stat_activity sampled
 * throughout by a connection of its own.
 */
describe('a node keeps to its pool size on PostgreSQL', { skip }, () => {
  let db: { url: string; drop(): Promise<void> };
  let server: RunningServer | undefined;
  const dirs: string[] = [];

  before(async () => {
    db = await createTestDatabase('postgres');
  });
  after(async () => {
    await server?.stop();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('150 concurrent sends: never more than 3 pool connections and 1 LISTEN connection', { timeout: 60_000 }, async () => {
    const config = pgNodeConfig(db.url, dirs);
    assert.equal(config.pgPoolSize, 3);
    server = await startServer(config, createLogger({ level: 'info', destination: captureLogs().stream }));
    const auth = await tenantAuth(server, 'Pool');
    const dbName = new URL(db.url).pathname.slice(1);

    const watcher = new pg.Client({ connectionString: adminPgUrl, application_name: 'otpgate-test-watcher' });
    await watcher.connect();
    const peak = new Map<string, number>();
    let sampling = true;
    const samples = (async () => {
      let n = 0;
      while (sampling) {
        const r = await watcher.query<{ app: string; n: string }>(
          'select application_name as app, count(*) as n from pg_stat_activity where datname = $1 group by application_name',
          [dbName],
        );
        for (const row of r.rows) peak.set(row.app, Math.max(peak.get(row.app) ?? 0, Number(row.n)));
        n += 1;
        await new Promise((res) => setTimeout(res, 2));
      }
      return n;
    })();
    try {
      const ids = await Promise.all(Array.from({ length: 150 }, (_, i) => sendVia(server!, auth, `+1202555${String(2000 + i).padStart(4, '0')}`)));
      assert.equal(ids.length, 150);
      const sent = () => withPg(db.url, async (c) => Number((await c.query<{ n: string }>(`select count(*) as n from messages where status = 'sent'`)).rows[0]!.n));
      await waitFor('every message delivered', async () => (await sent()) === 150, 30_000, 50);
    } finally {
      sampling = false;
    }
    const taken = await samples;
    await watcher.end();
    assert.ok(taken >= 10, `pg_stat_activity was sampled ${taken} times`);
    assert.equal(peak.get('otpgate'), 3, `the pool was used up to its size, and no further: ${JSON.stringify([...peak])}`);
    assert.equal(peak.get('otpgate-listen'), 1, 'one LISTEN connection');
    const others = [...peak.keys()].filter((app) => !['otpgate', 'otpgate-listen', ''].includes(app));
    assert.deepEqual(others, [], 'no other connection of the node');
  });
});
