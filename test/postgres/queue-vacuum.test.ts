import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createStore, migrateToLatest, type Store } from '../../src/store/db.js';
import { createTestDatabase } from '../helpers/databases.js';
import { postgresSkipReason } from './support.js';

/**
 * Migration 0024: a vacuum of the outbox cleans its indexes even when only a few of the
 * table's pages changed, as they do when a large store's newest messages leave the queue.
 * Without it PostgreSQL skips the indexes ("index scan bypassed") and the dead entries stay in
 * `messages_due`, where every claim walks them.
 */
const skip = await postgresSkipReason('queue vacuum');

describe('PostgreSQL: the outbox is vacuumed indexes included (migration 0024)', { skip }, () => {
  let store: Store;
  let db: { url: string; drop(): Promise<void> };
  let client: pg.Client;

  before(async () => {
    db = await createTestDatabase('postgres');
    store = createStore(db.url);
    await migrateToLatest(store);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`insert into tenants (id, name, settings, created_at, updated_at) values ('ten_a', 'a', '{}', 0, 0)`);
    // 30,000 delivered messages: the table is large next to the batch that leaves the queue.
    await client.query(`
      insert into messages (id, tenant_id, kind, challenge_id, purpose, to_phone, body_sealed, body_masked, sender_id, encoding, segments, status,
        attempts, chain_index, chain_attempts, next_attempt_at, lease_until, lease_owner, expires_at, provider, provider_message_id,
        error_kind, error_message, error_code, created_at, updated_at, sent_at, delivered_at)
      select 'msg_' || lpad(i::text, 26, '0'), 'ten_a', 'otp', null, 'login', '+4474001' || lpad((i % 100000)::text, 5, '0'), null,
        'Your code is ****** and it expires soon; do not share it with anyone', null, 'GSM-7', 1, 'delivered',
        1, 0, 1, i, null, null, i + 300000, 'Inbox', null, null, null, null, i, i, i, i
      from generate_series(1, 30000) i`);
  });
  after(async () => {
    await client?.end();
    await store?.close();
    await db?.drop();
  });

  /** Queues `n` new messages, lets them leave the queue, vacuums as autovacuum would, and returns what VACUUM VERBOSE said. */
  async function queueDrainVacuum(from: number, n: number): Promise<string> {
    await client.query(
      `insert into messages (id, tenant_id, kind, purpose, to_phone, body_masked, encoding, segments, status, attempts, chain_index, chain_attempts,
         next_attempt_at, expires_at, provider, created_at, updated_at)
       select 'msg_' || lpad(i::text, 26, '0'), 'ten_a', 'otp', 'login', '+447400100000', 'code ******', 'GSM-7', 1, 'queued', 0, 0, 0, i, i + 300000, 'Inbox', i, i
       from generate_series($1::int, $2::int) i`,
      [from, from + n - 1],
    );
    await client.query(`update messages set status = 'sent', attempts = 1, sent_at = next_attempt_at where status = 'queued'`);
    const said: string[] = [];
    const onNotice = (m: { message?: string; detail?: string }) => said.push(`${m.message ?? ''} ${m.detail ?? ''}`);
    client.on('notice', onNotice);
    try {
      await client.query('vacuum (verbose) messages');
    } finally {
      client.off('notice', onNotice);
    }
    return said.join('\n');
  }

  test('the settings are on the two queue tables', async () => {
    const rows = await client.query<{ relname: string; reloptions: string[] }>(`select relname, reloptions from pg_class where relname in ('messages', 'event_deliveries') order by relname`);
    const options = Object.fromEntries(rows.rows.map((r) => [r.relname, [...(r.reloptions ?? [])].sort()]));
    assert.deepEqual(options, {
      event_deliveries: ['autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=5000', 'vacuum_index_cleanup=on'],
      messages: ['autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=20000', 'vacuum_index_cleanup=on'],
    });
  });

  test('a vacuum after a few pages of the queue drained removes the index entries; without the setting it would skip them', async () => {
    // Where autovacuum is on, it must not clean the table between the drain and the VACUUM below.
    await client.query('alter table messages set (autovacuum_enabled = false)');
    const withSetting = await queueDrainVacuum(40_000, 60);
    assert.doesNotMatch(withSetting, /index scan bypassed/, withSetting);
    assert.match(withSetting, /index "messages_due"/, withSetting);

    // The same on the table without the setting: PostgreSQL skips the indexes, so the test above
    // tells the two apart.
    await client.query('alter table messages reset (vacuum_index_cleanup)');
    const without = await queueDrainVacuum(50_000, 60);
    assert.match(without, /index scan bypassed/, without);
  });
});
