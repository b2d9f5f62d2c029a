import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, migrateToLatest, type Store } from '../../src/store/db.js';
import { createDbFraudCounters, type CounterEntry } from '../../src/services/fraud-counters.js';
import type { CounterRow } from '../../src/store/queries/fraud.js';
import { createTestDatabase } from '../helpers/databases.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function sorted(rows: CounterRow[]): Array<[string, number, number, number]> {
  return rows.map((r): [string, number, number, number] => [r.key, Number(r.bucket), Number(r.sent), Number(r.verified)]).sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
}

/**
 * On a single node the fraud guard's counters are kept in memory once read (every key: country,
 * prefix, IP). Whatever the order of adds and reads, a cached read must answer what the table
 * holds.
 */
describe('fraud counters kept in memory (SQLite, one node)', () => {
  let store: Store;
  let drop: () => Promise<void>;
  before(async () => {
    const db = await createTestDatabase('sqlite');
    drop = db.drop;
    store = createStore(db.url);
    await migrateToLatest(store);
    await store.db.insertInto('tenants').values([
      { id: 'ten_a', name: 'a', settings: '{}', created_at: 0, updated_at: 0 },
      { id: 'ten_b', name: 'b', settings: '{}', created_at: 0, updated_at: 0 },
    ]).execute();
  });
  after(async () => {
    await store.close();
    await drop();
  });

  test('every read answers what the table holds, through adds, new hours and longer windows', async () => {
    const cached = createDbFraudCounters({ cache: true });
    const direct = createDbFraudCounters();
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const keys = ['c:GB', 'c:NG', 'p:+4477009001', 'p:+4477009002', 'i:203.0.113.7', 'i:203.0.113.8', ''];
    const start = 100 * DAY;
    for (let step = 0; step < 400; step++) {
      const now = start + step * 20 * 60_000; // 20 minutes a step: about 5.5 days in all
      const bucket = Math.floor(now / HOUR) * HOUR;
      const tenant = rand(4) === 0 ? 'ten_b' : 'ten_a';
      if (rand(3) > 0) {
        const entries: CounterEntry[] = [];
        for (let k = 0; k < 1 + rand(3); k++) {
          const key = keys[rand(keys.length - 1)]!;
          if (entries.some((e) => e.key === key)) continue;
          // Late verifications land in an earlier hour's bucket.
          const at = rand(5) === 0 ? bucket - rand(30) * HOUR : bucket;
          entries.push({ key, bucket: at, delta: { sent: rand(2), verified: rand(2), segments: 1, costMicros: 0 } });
        }
        await store.writes.write((trx) => cached.add(trx, tenant, entries));
      }
      const read: [string, string, string] = [keys[rand(keys.length)]!, keys[rand(keys.length)]!, keys[rand(keys.length)]!];
      // Mostly the last day; sometimes the 14 days of a country's best day, which is longer than what was cached.
      const since = rand(6) === 0 ? bucket - 14 * DAY : bucket - DAY;
      const a = await cached.read(store.db, tenant, read, since);
      const b = await direct.read(store.db, tenant, read, since);
      assert.deepEqual(sorted(a), sorted(b), `step ${step}: read ${read.join(',')} since ${since}`);
    }
  });

  test('a warm read does not query the table', async () => {
    const cached = createDbFraudCounters({ cache: true });
    const now = 200 * DAY;
    const bucket = Math.floor(now / HOUR) * HOUR;
    await store.writes.write((trx) => cached.add(trx, 'ten_a', [{ key: 'p:+4420790001', bucket, delta: { sent: 2, verified: 1, segments: 2, costMicros: 0 } }]));
    const first = await cached.read(store.db, 'ten_a', ['', 'p:+4420790001', 'i:198.51.100.1'], bucket - DAY);
    assert.deepEqual(sorted(first), [['p:+4420790001', bucket, 2, 1]]);
    // Rows the process did not write (no second node writes a single-node store) are not seen
    // once the keys are in memory: the read is served from there.
    await store.db.insertInto('fraud_counters').values({ tenant_id: 'ten_a', key: 'i:198.51.100.1', bucket, sent: 9, verified: 0, segments: 9, cost_micros: 0 }).execute();
    const warm = await cached.read(store.db, 'ten_a', ['', 'p:+4420790001', 'i:198.51.100.1'], bucket - DAY);
    assert.deepEqual(sorted(warm), [['p:+4420790001', bucket, 2, 1]]);
    // Without the cache (several nodes) the same read sees the table.
    const direct = await createDbFraudCounters().read(store.db, 'ten_a', ['', 'p:+4420790001', 'i:198.51.100.1'], bucket - DAY);
    assert.deepEqual(sorted(direct), [['i:198.51.100.1', bucket, 9, 0], ['p:+4420790001', bucket, 2, 1]]);
  });
});
