import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import net from 'node:net';
import pg from 'pg';
import { createOutboxWakeup, OUTBOX_CHANNEL, type OutboxWakeup } from '../../src/dispatcher/wakeup.js';
import { createStore, type Store } from '../../src/store/db.js';
import { notifyChannel } from '../../src/store/queries/messages.js';
import { createTestDatabase } from '../helpers/databases.js';
import { postgresSkipReason, waitFor, withPg } from './support.js';

const skip = await postgresSkipReason('LISTEN/NOTIFY wake-up');
const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LISTEN/NOTIFY wake-up between nodes', { skip }, () => {
  let db: { url: string; drop(): Promise<void> };
  let store: Store;
  const started: OutboxWakeup[] = [];

  function node(opts: { coalesceMs?: number; heartbeatMs?: number } = {}) {
    const wakes = { n: 0 };
    const w = createOutboxWakeup({
      newClient: store.newPgClient!,
      logger,
      onWake: () => (wakes.n += 1),
      fallbackNotify: (channel, payload) => notifyChannel(store.db, channel, payload),
      reconnect: { baseMs: 50, capMs: 400 },
      ...opts,
    });
    started.push(w);
    return { w, wakes };
  }

  before(async () => {
    db = await createTestDatabase('postgres');
    store = createStore(db.url, { pgPoolSize: 2 });
  });
  after(async () => {
    for (const w of started) await w.stop();
    await store?.close();
    await db?.drop();
  });

  test('a NOTIFY from one node wakes the others, not itself', async () => {
    const a = node();
    const b = node();
    const c = node();
    await Promise.all([a.w.start(), b.w.start(), c.w.start()]);
    assert.ok(a.w.listening && b.w.listening && c.w.listening);
    a.w.notify();
    await waitFor('b and c woken', () => b.wakes.n === 1 && c.wakes.n === 1, 5000);
    await sleep(100);
    assert.equal(a.wakes.n, 0, 'a node ignores its own NOTIFY');
    assert.equal(b.w.stats.received, 1);
  });

  test('the LISTEN connection is its own, not a pool slot', async () => {
    const a = node();
    await a.w.start();
    const rows = await withPg(db.url, async (c) =>
      (await c.query<{ n: string }>(`select count(*) as n from pg_stat_activity where datname = current_database() and application_name = 'otpgate-listen'`)).rows,
    );
    assert.ok(Number(rows[0]!.n) >= 1);
    assert.equal(store.pgPool!.totalCount <= 2, true);
  });

  test('a burst of enqueues sends few NOTIFYs (coalesced) and still wakes the others', async () => {
    const a = node({ coalesceMs: 20 });
    const b = node();
    await Promise.all([a.w.start(), b.w.start()]);
    // Count the NOTIFYs on the wire with a listener of our own.
    const seen: string[] = [];
    const spy = new pg.Client({ connectionString: db.url });
    await spy.connect();
    spy.on('notification', (n) => {
      if (n.payload === a.w.nodeId) seen.push(n.payload);
    });
    await spy.query(`LISTEN ${OUTBOX_CHANNEL}`);
    try {
      for (let i = 0; i < 1000; i++) a.w.notify();
      await sleep(60);
      for (let i = 0; i < 1000; i++) a.w.notify();
      await waitFor('the trailing NOTIFY', () => seen.length >= 3, 5000);
      await sleep(100);
      // Leading + trailing per burst window: 2000 calls → a handful of NOTIFYs.
      assert.ok(seen.length >= 2 && seen.length <= 6, `NOTIFYs on the wire: ${seen.length}`);
      assert.equal(a.w.stats.sent, seen.length);
      assert.ok(b.wakes.n >= 2);
    } finally {
      await spy.end();
    }
  });

  test('when the LISTEN connection is killed it reconnects, wakes once, and hears NOTIFYs again', async () => {
    const a = node({ heartbeatMs: 0 });
    const b = node();
    await Promise.all([a.w.start(), b.w.start()]);
    const killed = await withPg(db.url, async (c) =>
      (await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'otpgate-listen' and pid <> pg_backend_pid()`)).rowCount,
    );
    assert.ok((killed ?? 0) >= 2);
    await waitFor('a and b listening again', () => a.w.stats.reconnects >= 1 && b.w.stats.reconnects >= 1 && a.w.listening && b.w.listening, 10_000);
    assert.ok(a.wakes.n >= 1, 'a reconnect wakes the dispatcher (notifications may have been missed)');
    const before = a.wakes.n;
    b.w.notify();
    await waitFor('a woken by b after the reconnect', () => a.wakes.n > before, 5000);
  });

  test('while the LISTEN connection is down, NOTIFY goes through the pool', async () => {
    const b = node();
    await b.w.start();
    // A node whose LISTEN connection cannot be opened (its factory points nowhere).
    const lonely = createOutboxWakeup({
      newClient: () => new pg.Client({ connectionString: 'postgres://127.0.0.1:1/nowhere', connectionTimeoutMillis: 200 }),
      logger,
      onWake: () => undefined,
      fallbackNotify: (channel, payload) => notifyChannel(store.db, channel, payload),
      reconnect: { baseMs: 5000, capMs: 5000 },
    });
    started.push(lonely);
    await lonely.start();
    assert.equal(lonely.listening, false);
    const before = b.wakes.n;
    lonely.notify();
    await waitFor('b woken through the fallback', () => b.wakes.n > before, 5000);
  });

  test('a LISTEN connection that silently stops answering is found by the heartbeat and replaced', async () => {
    // A TCP proxy in front of PostgreSQL that can freeze its open connections (a half-open
    // connection: no FIN, no RST, just silence), while new connections still get through.
    const target = new URL(db.url);
    const frozen = new Set<net.Socket>();
    const pairs: Array<[net.Socket, net.Socket]> = [];
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      pairs.push([client, upstream]);
      for (const s of [client, upstream]) s.on('error', () => undefined);
      client.on('data', (d: Buffer) => (frozen.has(client) ? undefined : upstream.write(d)));
      upstream.on('data', (d: Buffer) => (frozen.has(client) ? undefined : client.write(d)));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxied = new URL(db.url);
    proxied.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    try {
      const wakes = { n: 0 };
      // The heartbeat and the NOTIFYs never overlap on a connection: pg deprecates a query
      // sent while another runs on the same client (a queue it drops in pg 9).
      let overlapped = 0;
      const a = createOutboxWakeup({
        newClient: () => {
          const c = new pg.Client({ connectionString: proxied.toString() });
          let running = 0;
          const query = c.query.bind(c) as (sql: string) => Promise<unknown>;
          (c as unknown as { query(sql: string): Promise<unknown> }).query = (sql: string) => {
            if (running > 0) overlapped += 1;
            running += 1;
            return query(sql).finally(() => (running -= 1));
          };
          return c;
        },
        logger,
        onWake: () => (wakes.n += 1),
        reconnect: { baseMs: 50, capMs: 200 },
        heartbeatMs: 200,
      });
      started.push(a);
      const b = node();
      await Promise.all([a.start(), b.w.start()]);
      assert.ok(a.listening);
      // Freeze every connection open so far: a's LISTEN session goes silent.
      for (const [c] of pairs) frozen.add(c);
      b.w.notify();
      await sleep(300);
      assert.equal(wakes.n, 0, 'the frozen connection delivers nothing');
      await waitFor('the heartbeat to replace the connection', () => a.stats.reconnects >= 1 && a.listening, 10_000);
      const before = wakes.n;
      b.w.notify();
      await waitFor('a woken through its new connection', () => wakes.n > before, 5000);
      assert.equal(overlapped, 0, 'a query was sent while another ran on the LISTEN connection');
    } finally {
      for (const [c, u] of pairs) {
        c.destroy();
        u.destroy();
      }
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  test('stop() closes the connection and later notify() calls are ignored', async () => {
    const a = node();
    await a.w.start();
    await a.w.stop();
    assert.equal(a.w.listening, false);
    a.w.notify();
    assert.equal(a.w.stats.sent, 0);
  });
});
