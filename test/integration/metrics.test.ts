import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** The samples of one metric on a Prometheus text page, each with its labels. */
function samples(page: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of page.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; 0 when there is none yet. */
function value(page: string, name: string, labels: Record<string, string> = {}): number {
  const hits = samples(page, name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(hits.length <= 1, `${name} ${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value ?? 0;
}

describe('/metrics counts what happened', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  const scrape = async () => {
    const r = await t.call('GET', '/metrics');
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    return r.body;
  };

  test('a send, a delivery, a wrong and a right verify move their samples', async () => {
    const { auth } = await t.createTenant();
    const phone = '+14155552671';
    const m0 = await scrape();
    assert.equal(value(m0, 'otpgate_otp_sends_total', { outcome: 'accepted' }), 0);
    assert.equal(value(m0, 'otpgate_queue_depth', { state: 'queued' }), 0);

    const sent = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } });
    assert.equal(sent.statusCode, 202, sent.body);
    const m1 = await scrape();
    assert.equal(value(m1, 'otpgate_otp_sends_total', { outcome: 'accepted' }), 1);
    assert.equal(value(m1, 'otpgate_queue_depth', { state: 'queued' }), 1, 'the queued message is counted');
    assert.equal(value(m1, 'otpgate_queue_depth', { state: 'sending' }), 0);
    assert.equal(value(m1, 'otpgate_dispatch_latency_seconds_count'), 0);

    await t.drainOutbox();
    const m2 = await scrape();
    assert.equal(value(m2, 'otpgate_queue_depth', { state: 'queued' }), 0, 'the delivered message left the queue');
    assert.equal(value(m2, 'otpgate_dispatch_latency_seconds_count'), 1);
    assert.ok(value(m2, 'otpgate_dispatch_latency_seconds_sum') >= 0);
    assert.equal(value(m2, 'otpgate_dispatch_latency_seconds_bucket', { le: '+Inf' }), 1);
    const attempts = samples(m2, 'otpgate_provider_attempts_total');
    assert.deepEqual(attempts.map((s) => [s.labels.provider, s.labels.outcome, s.value]), [['Inbox', 'accepted', 1]]);

    const inbox = (await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth })).json<{ items: Array<{ body: string }> }>();
    const code = /(\d{6})/.exec(inbox.items[0]!.body)![1]!;
    const challenge_id = sent.json().challenge_id;
    const wrong = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id, code: code === '000000' ? '111111' : '000000' } });
    assert.equal(wrong.json().code, 'otp.invalid');
    const m3 = await scrape();
    assert.equal(value(m3, 'otpgate_otp_verifies_total', { outcome: 'invalid' }), 1);
    assert.equal(value(m3, 'otpgate_otp_verifies_total', { outcome: 'verified' }), 0);

    assert.equal((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id, code } })).statusCode, 200);
    const m4 = await scrape();
    assert.equal(value(m4, 'otpgate_otp_verifies_total', { outcome: 'invalid' }), 1);
    assert.equal(value(m4, 'otpgate_otp_verifies_total', { outcome: 'verified' }), 1);
    assert.equal(value(m4, 'otpgate_otp_sends_total', { outcome: 'accepted' }), 1, 'verifies do not count as sends');
  });
});
