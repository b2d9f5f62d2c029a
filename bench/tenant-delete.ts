// Deleting a tenant on SQLite, on copies of the big-store bench's 1 M-row store (bench/big-store/build.ts):
// the request (the tenant marked deleted, its keys and waiting messages gone) and then
// housekeeping's purge of its rows in paced units (rest 0 here, so the run is short; the units
// are what a send waits behind), against the same-run baseline of the one statement that
// cascaded through everything the tenant had, which is what DELETE /v1/tenants/{id} did before.
// Usage: node --import tsx bench/tenant-delete.ts [rows=1000000]
import { copyFileSync, rmSync } from 'node:fs';
import pino from 'pino';
import { systemClock } from '../src/domain/clock.js';
import { createHousekeeping } from '../src/services/housekeeping-service.js';
import { createStore, migrateToLatest, type Store } from '../src/store/db.js';
import { markTenantDeleted } from '../src/store/queries/tenants.js';
import { buildSqlite, tenants } from './big-store/build.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const built = await buildSqlite(rows, { dir: '/tmp/otpgate-big', rebuild: false });
const source = built.url.slice('sqlite:'.length);
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

async function copy(name: string): Promise<Store> {
  const file = `/tmp/otpgate-tenant-delete-${name}.db`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  copyFileSync(source, file);
  const store = createStore(`sqlite:${file}`);
  await migrateToLatest(store);
  return store;
}

console.log(`sqlite, ${rows.toLocaleString('en')} rows a table`);
console.log('| tenant (share of the rows) | before: one statement ms | the request ms | purge: units | longest unit ms | median unit ms | purge: whole ms |');
console.log('|---|---|---|---|---|---|---|');
for (const tenant of [tenants[3], tenants[1]]) {
  const before = await copy('before');
  const t0 = performance.now();
  await before.db.deleteFrom('tenants').where('id', '=', tenant.id).execute();
  const oneStatement = performance.now() - t0;
  await before.close();

  const after = await copy('after');
  const t1 = performance.now();
  await after.db.transaction().execute((trx) => markTenantDeleted(trx, tenant.id, Date.now()));
  const request = performance.now() - t1;
  // Each unit of the purge, timed from its call to its commit.
  const units: number[] = [];
  const timedStore: Store = {
    ...after,
    writes: {
      ...after.writes,
      async write(unit) {
        const started = performance.now();
        const r = await after.writes.write(unit);
        units.push(performance.now() - started);
        return r;
      },
    },
  };
  const housekeeping = createHousekeeping({ store: timedStore, clock: systemClock, logger: pino({ level: 'silent' }) }, { restFactor: 0, maxBatchesPerRun: 1_000_000 });
  const t2 = performance.now();
  const run = await housekeeping.runOnce();
  const purge = performance.now() - t2;
  const left = await after.db.selectFrom('tenants').select('id').where('id', '=', tenant.id).execute();
  if (left.length > 0 || run.deletedTenants === 0) throw new Error(`the tenant ${tenant.id} is still there after the run`);
  await after.close();
  const sorted = [...units].sort((a, b) => a - b);
  console.log(`| ${tenant.id} (${tenant.share} %) | ${fmt(oneStatement)} | ${fmt(request)} | ${units.length} | ${fmt(sorted.at(-1)!)} | ${fmt(sorted[Math.floor(sorted.length / 2)]!)} | ${fmt(purge)} |`);
}
for (const name of ['before', 'after']) for (const suffix of ['', '-wal', '-shm']) rmSync(`/tmp/otpgate-tenant-delete-${name}.db${suffix}`, { force: true });
