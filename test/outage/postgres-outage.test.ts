import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../postgres/support.js';
import { privatePostgresSkipReason, queryPrivate, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-servers.js';

/**
 * PostgreSQL taken away under load, on a server the suite starts itself: stopped and started
 * again (connections refused), then paused with SIGSTOP (connections hang). Sends are answered
 * 202 or 503 `store.unavailable` with Retry-After, never 500; /readyz fails while it lasts;
 * every accepted send is in the database afterwards and delivered; sends succeed again
 * without a restart of otpgate. Phases wait for recorded answers, never for time.
 */

const skip = privatePostgresSkipReason();

interface Answer {
  /** The outage phase the request began in. */
  phase: string;
  status: number;
  code?: string;
  retryAfter?: string;
  contentType?: string;
  messageId?: string;
}

describe('PostgreSQL outages under load (a private server)', { skip, timeout: 180_000 }, () => {
  let server: PrivatePostgres;
  let t: TestApp;
  let auth: string;
  const answers: Answer[] = [];
  let phase = 'before';
  let running = true;
  let load: Promise<void>;
  let phoneSeq = 0;

  const count = (p: string, status: number) => answers.filter((a) => a.phase === p && a.status === status).length;

  before(async () => {
    server = await startPrivatePostgres();
    t = await createTestApp({
      dbUrl: server.url,
      // Short deadlines so that a paused server costs a test little time.
      env: { OTPGATE_PG_CONNECT_TIMEOUT_MS: '1000', OTPGATE_PG_QUERY_TIMEOUT_MS: '1500', OTPGATE_PG_STATEMENT_TIMEOUT_MS: '1000', OTPGATE_PG_POOL_SIZE: '4' },
    });
    auth = (await t.createTenant({ resend_cooldown_seconds: 0 })).auth;
    // Four senders, each one request at a time, new numbers throughout.
    const sender = async () => {
      while (running) {
        const started = phase;
        const n = phoneSeq++;
        const res = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: `+1415555${String(1000 + (n % 9000)).padStart(4, '0')}`, purpose: `p${Math.floor(n / 9000)}` } });
        const body = res.json<{ code?: string; message_id?: string }>();
        answers.push({
          phase: started,
          status: res.statusCode,
          ...(body.code ? { code: body.code } : {}),
          ...(body.message_id ? { messageId: body.message_id } : {}),
          ...(res.headers['retry-after'] !== undefined ? { retryAfter: String(res.headers['retry-after']) } : {}),
          contentType: String(res.headers['content-type']),
        });
        // app.inject answers a fail-fast 503 without any I/O: without a turn of the event loop
        // the senders would starve the timers that waitFor polls with.
        await new Promise((r) => setImmediate(r));
      }
    };
    load = Promise.all([sender(), sender(), sender(), sender()]).then(() => undefined);
  });

  after(async () => {
    running = false;
    await load;
    await t?.close();
    await server?.destroy();
  });

  async function outage(name: string, takeAway: () => Promise<void> | void, bringBack: () => Promise<void> | void): Promise<void> {
    phase = `${name}:before`;
    await waitFor(`sends accepted before the ${name}`, () => count(`${name}:before`, 202) >= 20, 30_000);
    await takeAway();
    phase = `${name}:during`;
    await waitFor(`503 answers during the ${name}`, () => count(`${name}:during`, 503) >= 10, 30_000);

    const ready = await t.call('GET', '/readyz');
    assert.equal(ready.statusCode, 503, `/readyz during the ${name}: ${ready.body}`);
    const verify = await t.call('POST', '/v1/otp/verify', { auth, body: { phone_number: '+14155551000', code: '123456' } });
    assert.equal(verify.statusCode, 503, `verify during the ${name}: ${verify.body}`);
    assert.equal(verify.json().code, 'store.unavailable');
    const list = await t.call('GET', '/v1/messages', { auth });
    assert.equal(list.statusCode, 503, `a list during the ${name}: ${list.body}`);

    await bringBack();
    phase = `${name}:after`;
    await waitFor(`sends accepted after the ${name}`, () => count(`${name}:after`, 202) >= 20, 30_000);
    assert.equal((await t.call('GET', '/readyz')).statusCode, 200, `/readyz after the ${name}`);
  }

  function assertAnswers(name: string): void {
    const ofOutage = answers.filter((a) => a.phase.startsWith(`${name}:`));
    const statuses = [...new Set(ofOutage.map((a) => a.status))].sort();
    assert.deepEqual(statuses.filter((s) => s !== 202 && s !== 503), [], `only 202 and 503 during the ${name}: ${JSON.stringify(statuses)}`);
    for (const a of ofOutage.filter((x) => x.status === 503)) {
      assert.equal(a.code, 'store.unavailable');
      assert.equal(a.retryAfter, '2');
      assert.equal(a.contentType, 'application/problem+json; charset=utf-8');
    }
  }

  test('stopped (pg_ctl stop -m fast) and started again', async () => {
    await outage('stop', () => server.stop(), () => server.start());
    assertAnswers('stop');
  });

  test('paused with SIGSTOP, then resumed: requests fail within the deadlines instead of hanging', async () => {
    await outage('pause', () => server.signal('SIGSTOP'), () => server.signal('SIGCONT'));
    assertAnswers('pause');
    // The pool's client-side deadline or connect timeout ended them, not the resume.
    const warnings = t.logs.lines.filter((l) => l.includes('PostgreSQL is not answering'));
    assert.ok(warnings.length >= 2, 'one warning per outage');
  });

  test('no accepted send is lost, and each is delivered once the store is back', async () => {
    running = false;
    await load;
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.messageId!);
    assert.ok(accepted.length >= 80, `accepted ${accepted.length}`);
    assert.equal(new Set(accepted).size, accepted.length);
    const rows = await queryPrivate<{ id: string }>(server.url, 'select id from messages where id = any($1)', [accepted]);
    assert.equal(rows.length, accepted.length, 'every accepted send has its message');
    await t.drainOutbox(200);
    const left = await queryPrivate<{ n: string }>(server.url, "select count(*) as n from messages where id = any($1) and status not in ('sent', 'delivered')", [accepted]);
    assert.equal(Number(left[0]!.n), 0, 'every accepted message was delivered');
    // The switch to failing fast and back was logged once each way per outage, not per request.
    const down = t.logs.lines.filter((l) => l.includes('PostgreSQL is not answering')).length;
    const up = t.logs.lines.filter((l) => l.includes('PostgreSQL answers again')).length;
    assert.ok(down === 2 && up === 2, `down ${down}, up ${up}: once each way per outage`);
    assert.ok(!t.logs.lines.some((l) => l.includes('unhandled error')), 'no 500 was logged');
  });
});

describe('PostgreSQL paused with long deadlines: the stall is noticed without waiting them out', { skip, timeout: 120_000 }, () => {
  let server: PrivatePostgres;
  let t: TestApp;
  let auth: string;
  before(async () => {
    server = await startPrivatePostgres();
    // Deadlines far beyond the test: a 503 while the hung sends are pending came from the stall check.
    t = await createTestApp({ dbUrl: server.url, env: { OTPGATE_PG_CONNECT_TIMEOUT_MS: '1000', OTPGATE_PG_QUERY_TIMEOUT_MS: '60000', OTPGATE_PG_POOL_SIZE: '6' } });
    auth = (await t.createTenant({ resend_cooldown_seconds: 0 })).auth;
  });
  after(async () => {
    await t?.close();
    await server?.destroy();
  });

  test('requests made while queries hang are answered 503 at once; the hung ones complete after the resume', async () => {
    const send = (n: number) => t.call('POST', '/v1/otp/send', { auth, body: { phone_number: `+1415555${3000 + n}` } });
    // Open the pool's connections first, so that the sends below hang in queries, not in connecting.
    const warm = await Promise.all([0, 4, 5, 6, 7, 8].map((n) => send(n)));
    assert.deepEqual(warm.map((r) => r.statusCode), [202, 202, 202, 202, 202, 202]);
    server.signal('SIGSTOP');
    let settled = 0;
    const hung = [1, 2, 3].map((n) => send(n).finally(() => settled++));
    // New sends keep coming (the first ones take the idle connections and hang as well, later
    // ones wait for a pool slot) until one finds that no query was answered for 2 s.
    const more: Array<Promise<{ statusCode: number }>> = [];
    await waitFor('the stall to be noticed', () => {
      more.push(send(100 + more.length));
      return t.logs.text().includes('did not answer any query for 2000 ms');
    }, 30_000, 100);
    const fast = await send(11);
    assert.equal(fast.statusCode, 503, fast.body);
    assert.equal(fast.json().code, 'store.unavailable');
    assert.equal((await t.call('GET', '/readyz')).statusCode, 503);
    assert.equal(settled, 0, 'the hung sends are still waiting: the 503s did not come from their deadline');
    server.signal('SIGCONT');
    const answers = await Promise.all(hung);
    assert.deepEqual(answers.map((a) => a.statusCode), [202, 202, 202], 'sent before the pause, accepted after it');
    const others = new Set((await Promise.all(more)).map((a) => a.statusCode));
    assert.deepEqual([...others].filter((c) => c !== 202 && c !== 503), [], 'the others: accepted or 503');
    await waitFor('sends accepted again', async () => (await send(20)).statusCode === 202, 30_000, 50);
    assert.equal((await t.call('GET', '/readyz')).statusCode, 200);
  });
});
