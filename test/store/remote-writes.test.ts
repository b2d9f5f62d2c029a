import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createStore, type Store } from '../../src/store/db.js';
import { createRemoteWriteClient, createRemoteWriteServer, type RemoteWritesRequest } from '../../src/dispatcher/remote-writes.js';
import type { ClaimedMessage } from '../../src/store/queries/messages.js';

// The dispatch worker's writes, run by the main thread's group commit (src/dispatcher/remote-writes.ts).
describe('writes handed to the main thread (SQLite file)', () => {
  let t: TestApp;
  let auth: string;
  let tenantId: string;
  let reader: Store;

  before(async () => {
    t = await createTestApp({ dialect: 'sqlite' });
    ({ auth, tenantId } = await t.createTenant({ resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 1000 }));
    reader = createStore(t.dbUrl, { readOnly: true });
  });
  after(async () => {
    await reader?.close();
    await t?.close();
  });

  async function send(phone: string): Promise<string> {
    const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } });
    assert.equal(r.statusCode, 202, r.body);
    return r.json().message_id;
  }

  test("the worker's connection reads but cannot write", async () => {
    const id = await send('+14155550111');
    const row = await reader.db.selectFrom('messages').select(['id', 'status']).where('id', '=', id).executeTakeFirst();
    assert.deepEqual(row, { id, status: 'queued' });
    await assert.rejects(reader.db.updateTable('messages').set({ status: 'failed' }).where('id', '=', id).execute(), /readonly|read-only/i);
    const still = await t.deps.store.db.selectFrom('messages').select('status').where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(still.status, 'queued');
  });

  test('one batch: claims, outcomes and Inbox rows in one unit; a failing write fails alone', async () => {
    const id = await send('+14155550112');
    const run = createRemoteWriteServer(t.deps.store, t.deps.events);
    const now = Date.now();
    const [claim] = await run([{ kind: 'claim', owner: 'dsp_test', now, leaseUntil: now + 60_000, limit: 100, expiredLeases: false }]);
    assert.ok(claim?.ok);
    const claimed = claim.value as ClaimedMessage[];
    assert.ok(claimed.some((m) => m.id === id), 'the new message was claimed');

    const inboxRow = { id: 'inb_remote_1', tenant_id: tenantId, message_id: id, to_phone: '+14155550112', body_sealed: 'x', created_at: now };
    const sent = { messageId: id, tenantId, owner: 'dsp_test', update: { status: 'sent' as const, lease_owner: null, lease_until: null, updated_at: now, sent_at: now }, attempt: undefined };
    const results = await run([
      { kind: 'inbox', row: inboxRow },
      // The same id again: a unique violation, which must not undo the other two.
      { kind: 'inbox', row: inboxRow },
      { kind: 'complete', outcome: sent },
    ]);
    assert.deepEqual(results.map((r) => r.ok), [true, false, true]);
    assert.equal(results[2]!.ok && results[2]!.value, true);
    const msg = await t.deps.store.db.selectFrom('messages').select(['status', 'lease_owner']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual(msg, { status: 'sent', lease_owner: null });
    const inbox = await t.deps.store.db.selectFrom('inbox_messages').select('id').where('message_id', '=', id).execute();
    assert.deepEqual(inbox, [{ id: 'inb_remote_1' }]);

    // The lease is gone: the same outcome again changes nothing and says so.
    const [again] = await run([{ kind: 'complete', outcome: { ...sent, update: { ...sent.update, status: 'failed' } } }]);
    assert.deepEqual(again, { ok: true, value: false });
  });

  test("a claim takes what was committed before it runs, though the worker read its clock earlier", async () => {
    // The worker read its clock, then this message was accepted (its wake held back while that
    // claim travels: worker-host.ts), then the claim ran.
    const before = Date.now() - 5_000;
    const id = await send('+14155550114');
    const due = await t.deps.store.db.selectFrom('messages').select('next_attempt_at').where('id', '=', id).executeTakeFirstOrThrow();
    assert.ok(due.next_attempt_at > before);
    const leaseMs = 60_000;
    const claimAt = (run: ReturnType<typeof createRemoteWriteServer>) => run([{ kind: 'claim', owner: 'dsp_late', now: before, leaseUntil: before + leaseMs, limit: 100, expiredLeases: false }]);

    // Taken at the worker's reading, the claim leaves the message behind: the lost wake-up.
    const [early] = await claimAt(createRemoteWriteServer(t.deps.store, t.deps.events));
    assert.ok(early?.ok);
    assert.ok(!(early.value as ClaimedMessage[]).some((m) => m.id === id));

    const ranAt = Date.now();
    const [late] = await claimAt(createRemoteWriteServer(t.deps.store, t.deps.events, { clock: t.deps.clock }));
    assert.ok(late?.ok);
    assert.ok((late.value as ClaimedMessage[]).some((m) => m.id === id), 'the message committed before the claim ran was claimed');
    const row = await t.deps.store.db.selectFrom('messages').select(['status', 'lease_owner', 'lease_until']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.status, 'sending');
    assert.equal(row.lease_owner, 'dsp_late');
    // The lease runs the length asked for, from when the claim ran.
    assert.ok(row.lease_until! >= ranAt + leaseMs && row.lease_until! <= Date.now() + leaseMs, `lease until ${row.lease_until}`);
  });

  test("the worker's side: writes of one turn go as one message, each settles with its own result", async () => {
    const id = await send('+14155550113');
    const run = createRemoteWriteServer(t.deps.store, t.deps.events);
    const posted: RemoteWritesRequest[] = [];
    const client = createRemoteWriteClient((m) => {
      posted.push(m);
      void run(m.writes).then((results) => client.settle({ type: 'write-results', batch: m.batch, results }));
    });
    const now = Date.now();
    const claimP = client.claim({ owner: 'dsp_client', now, leaseUntil: now + 60_000, limit: 100, expiredLeases: false });
    const inboxP = client.inbox({ id: 'inb_remote_2', tenant_id: 'ten_missing', message_id: 'msg_missing', to_phone: '+1', body_sealed: 'x', created_at: now });
    const [claimed, inbox] = await Promise.allSettled([claimP, inboxP]);
    assert.equal(posted.length, 1, 'one message for the turn');
    assert.equal(claimed.status, 'fulfilled');
    assert.ok(claimed.status === 'fulfilled' && claimed.value.some((m) => m.id === id));
    assert.equal(inbox.status, 'rejected', 'a row of no tenant breaks a foreign key');

    const done = await client.complete({ messageId: id, tenantId, owner: 'dsp_client', update: { status: 'queued', lease_owner: null, lease_until: null, next_attempt_at: now, updated_at: now }, attempt: undefined });
    assert.equal(done, true);
    client.close();
    await assert.rejects(client.complete({ messageId: id, tenantId, owner: 'dsp_client', update: { status: 'sent' }, attempt: undefined }), /no longer takes writes/);
  });
});
