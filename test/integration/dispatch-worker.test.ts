import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startTestServer } from '../helpers/server.js';
import { startCustomGatewayFake } from '../fakes/custom-gateway.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function api(s: Server, method: string, path: string, auth: string, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, json: <T = any>() => JSON.parse(text) as T };
}

async function tenantWithKey(s: Server): Promise<string> {
  const admin = `Bearer ${s.adminKey}`;
  const t = await api(s, 'POST', '/v1/tenants', admin, { name: 'Worker', settings: { resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 1000, fraud_guard: { mode: 'off' } } });
  assert.equal(t.status, 201, t.text);
  const k = await api(s, 'POST', `/v1/tenants/${t.json().id}/api-keys`, admin, { name: 'w' });
  assert.equal(k.status, 201, k.text);
  return `Bearer ${k.json().key}`;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The code in the newest inbox message to `phone`, once the dispatcher delivered it. */
function inboxCode(s: Server, auth: string, phone: string) {
  return waitFor(`a message to ${phone} in the inbox`, async () => {
    const r = await api(s, 'GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, auth);
    const body: string | undefined = r.json().items[0]?.body;
    return body ? /\b(\d{6})\b/.exec(body)?.[1] : undefined;
  });
}

function metric(page: string, line: string): number | undefined {
  const m = page.split('\n').find((l) => l.startsWith(`${line} `));
  return m === undefined ? undefined : Number(m.slice(line.length + 1));
}

describe('dispatcher in a worker thread (SQLite file)', () => {
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  test('by default on a SQLite file: the worker delivers, verify works, /metrics counts both threads, no code in the logs', async () => {
    const s = await startTestServer();
    servers.push(s);
    assert.equal(s.server.dispatchMode, 'worker');
    const auth = await tenantWithKey(s);
    const sent = await api(s, 'POST', '/v1/otp/send', auth, { phone_number: '+14155550101' });
    assert.equal(sent.status, 202, sent.text);
    const code = await inboxCode(s, auth, '+14155550101');
    // The Inbox row is written inside the provider call; the worker records the outcome just
    // after, so the message may still read `sending` for a moment.
    const msg = await waitFor<{ status: string; attempt_log: unknown[] }>('the message to be recorded as sent', async () => {
      const r = await api(s, 'GET', `/v1/messages/${sent.json().message_id}`, auth);
      return r.json().status === 'sending' ? undefined : r.json();
    });
    assert.equal(msg.status, 'sent');
    assert.equal(msg.attempt_log.length, 1);
    const ok = await api(s, 'POST', '/v1/otp/verify', auth, { challenge_id: sent.json().challenge_id, code });
    assert.equal(ok.status, 200, ok.text);

    const page = (await fetch(`${s.url}/metrics`)).text();
    const text = await page;
    assert.equal(metric(text, 'otpgate_otp_sends_total{outcome="accepted"}'), 1, 'counted by the main thread');
    assert.equal(metric(text, 'otpgate_messages_final_total{status="sent"}'), 1, 'counted by the worker');
    assert.equal(metric(text, 'otpgate_provider_attempts_total{provider="Inbox",outcome="accepted"}'), 1);
    assert.ok(text.includes('otpgate_process_'), 'process metrics once, from the main thread');
    assert.ok(!s.logs.text().includes(code), 'no log line holds the code');
  });

  test('a provider change reaches the worker at once, not after its 5 s chain cache', async () => {
    const s = await startTestServer();
    servers.push(s);
    const gw = await startCustomGatewayFake({ apiKey: 'gw-key-worker-test' });
    try {
      const auth = await tenantWithKey(s);
      // The worker delivers through Inbox once, and caches that chain.
      await api(s, 'POST', '/v1/otp/send', auth, { phone_number: '+14155550104' });
      await inboxCode(s, auth, '+14155550104');
      const put = await api(s, 'PUT', '/cis/v1/tenantsmsproviders', auth, { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: 'gw-key-worker-test' } });
      assert.equal(put.status, 200, put.text);
      const sent = await api(s, 'POST', '/v1/otp/send', auth, { phone_number: '+14155550105' });
      assert.equal(sent.status, 202, sent.text);
      await waitFor('the gateway to receive the second code', async () => (gw.messages.some((m) => m.phoneNumber === '+14155550105') ? true : undefined), 3000);
      const inbox = await api(s, 'GET', `/v1/inbox?phone_number=${encodeURIComponent('+14155550105')}`, auth);
      assert.deepEqual(inbox.json().items, [], 'not delivered through the old (Inbox) chain');
    } finally {
      await gw.close();
    }
  });

  test('200 concurrent sends over HTTP: each delivered exactly once while both threads write', async () => {
    const s = await startTestServer();
    servers.push(s);
    assert.equal(s.server.dispatchMode, 'worker');
    const auth = await tenantWithKey(s);
    const N = 200;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => api(s, 'POST', '/v1/otp/send', auth, { phone_number: `+1415555${String(1000 + i).padStart(4, '0')}` })),
    );
    assert.deepEqual(results.filter((r) => r.status !== 202).map((r) => r.text), []);
    const db = s.server.deps.store.db;
    await waitFor('every message sent', async () => {
      const r = await db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'sent').executeTakeFirstOrThrow();
      return Number(r.n) === N ? true : undefined;
    });
    const attempts = await db.selectFrom('message_attempts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const inbox = await db.selectFrom('inbox_messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(attempts.n), N, 'one attempt per message: no message was claimed twice');
    assert.equal(Number(inbox.n), N);
    assert.ok(!/SQLITE_BUSY|database is locked/i.test(s.logs.text()), 'no write failed on the lock');
  });

  test('if the worker dies, the main thread takes over and nothing is lost', async () => {
    const s = await startTestServer();
    servers.push(s);
    const auth = await tenantWithKey(s);
    const thread = s.server.dispatchWorker!.thread;
    const exited = new Promise((r) => thread.once('exit', r));
    await thread.terminate();
    await exited;
    await waitFor('the main thread to take over', async () => (s.server.dispatchMode === 'in-process' ? true : undefined));
    assert.match(s.logs.text(), /dispatch worker stopped; dispatching in the main thread/);
    const sent = await api(s, 'POST', '/v1/otp/send', auth, { phone_number: '+14155550102' });
    assert.equal(sent.status, 202, sent.text);
    await inboxCode(s, auth, '+14155550102');
  });

  test('OTPGATE_DISPATCH_WORKER=off keeps it in the main thread; stop() ends the worker thread', async () => {
    const off = await startTestServer({ env: { OTPGATE_DISPATCH_WORKER: 'off' } });
    servers.push(off);
    assert.equal(off.server.dispatchMode, 'in-process');
    assert.equal(off.server.dispatchWorker, undefined);
    const auth = await tenantWithKey(off);
    await api(off, 'POST', '/v1/otp/send', auth, { phone_number: '+14155550103' });
    await inboxCode(off, auth, '+14155550103');

    const on = await startTestServer();
    const thread = on.server.dispatchWorker!.thread;
    let exited = false;
    thread.once('exit', () => (exited = true));
    await on.close();
    assert.equal(exited, true, 'the worker thread ended with the server');
  });

  test('under writes that never pause, the worker holds them for a last checkpoint pass and the log starts again', async () => {
    // The worker checkpoints every 10 ms and restarts the log past 64 frames. Without the hold,
    // a pass ends after the main thread has committed more, and the log goes on growing.
    const s = await startTestServer({ overrides: { walCheckpoint: { everyMs: 10, restartFrames: 64 } } });
    servers.push(s);
    assert.equal(s.server.dispatchMode, 'worker');
    const store = s.server.deps.store;
    const wal = `${store.description.replace(/^sqlite /, '')}-wal`;
    await sql`create table wal_rows (id integer primary key, v blob not null)`.execute(store.db);
    // The WAL header's checkpoint sequence number (bytes 12–15, big-endian) counts the restarts.
    const restarts = () => {
      const fd = openSync(wal, 'r');
      try {
        const header = Buffer.alloc(32);
        readSync(fd, header, 0, 32, 0);
        return header.readUInt32BE(12);
      } finally {
        closeSync(fd);
      }
    };
    // The worker's requests, seen after the host's own handler has run: at a release, the
    // restart count then, which the first commit after it must raise.
    let holds = 0;
    const notFlushed: number[] = [];
    const atRelease: number[] = [];
    s.server.dispatchWorker!.thread.on('message', (m: { type: string; flushed?: boolean }) => {
      if (m.type === 'hold-writes') {
        // The worker flushes the database file before each hold, so the held pass syncs little.
        if (m.flushed !== true) notFlushed.push(holds);
        holds += 1;
      } else if (m.type === 'release-writes') atRelease.push(restarts());
    });
    const blob = Buffer.alloc(3000, 7);
    let next = 0;
    let stop = false;
    let largest = 0;
    let checked = 0;
    const notRestarted: number[] = [];
    // Eight units in flight at all times, each a new page or more, as requests under full load.
    const lane = async () => {
      while (!stop) {
        const id = ++next;
        const releasedBefore = atRelease.length;
        await store.writes.write((trx) => sql`insert into wal_rows (id, v) values (${id}, ${blob})`.execute(trx));
        for (; checked < releasedBefore; checked++) if (restarts() <= atRelease[checked]!) notRestarted.push(checked);
        largest = Math.max(largest, statSync(wal).size);
        await new Promise((r) => setImmediate(r));
      }
    };
    const lanes = Array.from({ length: 8 }, lane);
    const until = Date.now() + 10_000;
    while ((atRelease.length < 3 || checked < 3) && Date.now() < until) await sleep(20);
    stop = true;
    await Promise.all(lanes);
    assert.ok(holds >= 3, `the worker held the writes ${holds} times in ${next} writes`);
    assert.ok(checked >= 3);
    assert.deepEqual(notRestarted, [], 'the first commit after each hold starts the log again');
    assert.deepEqual(notFlushed, [], 'the database file was flushed before every hold');
    // Each released hold is timed once, in the main thread's metrics. The worker may ask for
    // and release another while /metrics is answered: the releases are counted before it.
    const released = atRelease.length;
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const count = Number(/^otpgate_sqlite_write_hold_seconds_count (\S+)$/m.exec(metrics)?.[1]);
    assert.ok(count >= released && count <= holds, `${count} holds timed, ${released} released before, ${holds} asked for`);
    assert.ok(Number(/^otpgate_sqlite_write_hold_seconds_sum (\S+)$/m.exec(metrics)?.[1]) > 0);
    // Frames are 4,120 bytes; the log holds about what is written between two holds.
    assert.ok(largest < 32 * 1024 * 1024, `the log stayed short: ${largest} bytes at most`);
    assert.ok(!/SQLITE_BUSY|database is locked|checkpoint failed/i.test(s.logs.text()));
  });

  test('an erasure under load leaves no copy of the number in the database file or its log', async () => {
    // The worker checkpoints every 10 ms and delivers the load's messages, so its reads and
    // its checkpoints overlap the erasure's own checkpoint.
    const s = await startTestServer({ overrides: { walCheckpoint: { everyMs: 10, restartFrames: 64 } } });
    servers.push(s);
    assert.equal(s.server.dispatchMode, 'worker');
    const auth = await tenantWithKey(s);
    const [A, B] = ['+14155550188', '+14155550189'];
    for (const phone of [A, A, B]) assert.equal((await api(s, 'POST', '/v1/otp/send', auth, { phone_number: phone })).status, 202);
    await inboxCode(s, auth, A);
    await inboxCode(s, auth, B);
    const file = s.server.deps.store.description.replace(/^sqlite /, '');
    const bytes = () => [file, `${file}-wal`].map((f) => readFileSync(f).toString('latin1')).join('\n');
    assert.ok(bytes().includes(A.slice(1)), 'the search finds a number that is stored');

    let stop = false;
    let sent = 0;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await api(s, 'POST', '/v1/otp/send', auth, { phone_number: `+1415555${String(1000 + (i % 8000)).padStart(4, '0')}` });
        assert.equal(r.status, 202, r.text);
        sent += 1;
      }
    })();
    await waitFor('sends under way', async () => (sent >= 20 ? true : undefined));
    const erased = await api(s, 'POST', '/v1/phones/erase', auth, { phone_number: A });
    assert.equal(erased.status, 200, erased.text);
    assert.equal(erased.json().erased.messages, 2);
    // A copy of the data directory taken now, while the sends go on.
    const copy = bytes();
    stop = true;
    await load;
    assert.ok(!copy.includes(A.slice(1)), 'no page of the file or the log holds the erased number');
    assert.ok(copy.includes(B.slice(1)), 'the other number is still there');
    assert.ok(!/could not be emptied|checkpoint after an erasure failed/.test(s.logs.text()), s.logs.text());
  });

  test('the descriptor of the database file the worker flushes with is closed with the store, after its connections', async () => {
    const s = await startTestServer();
    assert.equal(s.server.dispatchMode, 'worker');
    const file = s.server.deps.store.description.replace(/^sqlite /, '');
    const descriptorsOf = (path: string) =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          // A file deleted while open (the test server's directory goes with it) reads `<path> (deleted)`.
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target === path || target === `${path} (deleted)`;
        } catch {
          return false; // the directory's own descriptor, or one closed meanwhile
        }
      }).length;
    const fd = s.server.deps.store.wal!.fileDescriptor()!;
    assert.equal(readlinkSync(`/proc/self/fd/${fd}`), file);
    // The main thread's connection, the worker's, and the one for flushing.
    assert.equal(descriptorsOf(file), 3);
    await s.close();
    assert.equal(descriptorsOf(file), 0, 'no descriptor of the database file is left open');
  });

  test('a bad OTPGATE_DISPATCH_WORKER is a configuration error', async () => {
    await assert.rejects(startTestServer({ env: { OTPGATE_DISPATCH_WORKER: 'sometimes' } }), /OTPGATE_DISPATCH_WORKER/);
  });
});
