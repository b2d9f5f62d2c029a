import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createStore, migrateToLatest, type Store } from '../../src/store/db.js';
import { createTestDatabase, testDialects } from '../helpers/databases.js';

/**
 * The lookups behind the per-IP cap and delivery receipts are served by their (partial)
 * indexes on both engines (migrations 0004, 0005), and so are the dispatcher's lookups of the
 * queue: a partial `… WHERE x IS NOT NULL` index only helps
 * if the planner proves `x = ?` implies it, which this test holds each engine to.
 */
const lookups = [
  {
    index: 'challenges_ip',
    query: sql`select count(*) from challenges where tenant_id = ${'ten_a'} and client_ip = ${'203.0.113.9'} and created_at > ${0}`,
  },
  {
    index: 'messages_due',
    query: sql`select id from messages where status = 'queued' and next_attempt_at <= ${0} order by next_attempt_at limit 10`,
  },
  {
    index: 'messages_due',
    query: sql`select count(*) from messages where status = 'queued'`,
  },
  {
    index: 'messages_sending_lease',
    query: sql`select count(*) from messages where status = 'sending'`,
  },
  {
    index: 'idempotency_expires',
    query: sql`select tenant_id, key from idempotency_keys where expires_at <= ${0} limit 500`,
  },
  {
    index: 'messages_provider_id',
    query: sql`select * from messages where tenant_id = ${'ten_a'} and provider = ${'Twilio'} and provider_message_id = ${'SM0123'}`,
  },
];

for (const dialect of await testDialects()) {
  describe(`query plans (${dialect})`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    before(async () => {
      const db = await createTestDatabase(dialect);
      drop = db.drop;
      store = createStore(db.url);
      await migrateToLatest(store);
    });
    after(async () => {
      await store.close();
      await drop();
    });

    test('the partial indexes exist: keys that are null skipped, only queued messages due', async () => {
      if (dialect === 'sqlite') {
        const rows = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and name in ('challenges_ip', 'messages_provider_id')`.execute(store.db);
        assert.equal(rows.rows.length, 2);
        for (const r of rows.rows) assert.match(r.sql, /where .* is not null/i, r.name);
        const due = await sql<{ sql: string }>`select sql from sqlite_master where name = 'messages_due'`.execute(store.db);
        assert.match(due.rows[0]?.sql ?? '', /where "status" = 'queued'/i);
      } else {
        const rows = await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef from pg_indexes where indexname in ('challenges_ip', 'messages_provider_id')`.execute(store.db);
        assert.equal(rows.rows.length, 2);
        for (const r of rows.rows) assert.match(r.indexdef, /WHERE \(.* IS NOT NULL\)/, r.indexname);
        const due = await sql<{ indexdef: string }>`select indexdef from pg_indexes where indexname = 'messages_due'`.execute(store.db);
        assert.match(due.rows[0]?.indexdef ?? '', /WHERE \(status = 'queued'::text\)/);
      }
    });

    for (const [i, { index, query }] of lookups.entries()) {
      test(`${index} serves lookup ${i + 1}`, async () => {
        const text = await explain(store, dialect, query);
        assert.match(text, new RegExp(index), text);
      });
    }
  });
}

async function explain(store: Store, dialect: string, query: ReturnType<typeof sql>): Promise<string> {
  const compiled = query.compile(store.db);
  if (dialect === 'sqlite') {
    // Parameters inlined as literals: EXPLAIN cannot take bound values through this path.
    let i = 0;
    const text = compiled.sql.replace(/\?/g, () => JSON.stringify(compiled.parameters[i++]).replace(/^"|"$/g, "'"));
    const r = await sql.raw<{ detail: string }>(`explain query plan ${text}`).execute(store.db);
    return r.rows.map((x) => x.detail).join('\n');
  }
  await sql`set enable_seqscan = off`.execute(store.db);
  let i = 0;
  const text = compiled.sql.replace(/\$\d+/g, () => `'${String(compiled.parameters[i++])}'`);
  const r = await sql.raw<Record<string, string>>(`explain ${text}`).execute(store.db);
  return r.rows.map((x) => Object.values(x).join(' ')).join('\n');
}
