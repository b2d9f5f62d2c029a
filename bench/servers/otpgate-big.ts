// otpgate as `npm start` runs it (the OTPGATE_ settings of the environment: SQLite or
// PostgreSQL, the dispatcher delivering to the bench's custom gateway), for bench/big-store.ts.
// Sends as BENCH_TENANT_ID when that tenant is in the store (the big store's large tenant),
// else as a new tenant with the same settings. Prints `listening <url> <key>`.
//
// A line `purge` on stdin runs housekeeping once, as its timer does, with no cap on write units
// per run, and with its clock where exactly the oldest day of messages (and, with the default
// retentions, of codes) is past its retention; it answers `purged <json>` when done, and a
// line `progress` is answered with what it has done so far.
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server.js';
import { createHousekeeping } from '../../src/services/housekeeping-service.js';
import { benchSettings, DAY_MS } from '../big-store/build.js';

const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn' });
const server = await startServer(config, logger);
const wanted = process.env.BENCH_TENANT_ID;
const existing = wanted ? await server.deps.store.db.selectFrom('tenants').select('id').where('id', '=', wanted).executeTakeFirst() : undefined;
const tenantId = existing ? existing.id : (await server.deps.tenants.create({ name: 'Bench', settings: benchSettings }, 'bench')).id;
if (existing) await server.deps.tenants.update(tenantId, { settings: benchSettings }, 'bench');
const key = await server.deps.apiKeys.create(tenantId, 'bench', 'bench');
process.stdout.write(`listening ${server.url} ${key.key}\n`);

// What the purge has done so far: rows deleted, write units, and time inside them.
const progress = { rows: 0, units: 0, busyMs: 0, done: false };
let housekeeping: ReturnType<typeof createHousekeeping> | undefined;

async function purge(): Promise<void> {
  const oldest = await server.deps.store.db.selectFrom('messages').select('created_at').orderBy('id').limit(1).executeTakeFirst();
  if (!oldest) return void process.stdout.write('purged {}\n');
  const now = Number(oldest.created_at) + config.messageRetentionDays * DAY_MS + DAY_MS;
  const { writes } = server.deps.store;
  const counted = {
    async write<T>(unit: Parameters<typeof writes.write<T>>[0]): Promise<T> {
      const started = performance.now();
      const r = await writes.write(unit);
      progress.units += 1;
      progress.busyMs += performance.now() - started;
      if (typeof r === 'number') progress.rows += r;
      return r;
    },
  };
  housekeeping = createHousekeeping({ ...server.deps, store: { ...server.deps.store, writes: counted }, clock: { now: () => now }, config }, { maxBatchesPerRun: 1_000_000 });
  const started = Date.now();
  const run = await housekeeping.runOnce();
  progress.done = true;
  process.stdout.write(`purged ${JSON.stringify({ ...run, ms: Date.now() - started })}\n`);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'purge') void purge();
  if (line.trim() === 'progress') process.stdout.write(`progress ${JSON.stringify({ ...progress, busyMs: Math.round(progress.busyMs) })}\n`);
});
process.on('SIGTERM', () => void (housekeeping?.stop() ?? Promise.resolve()).then(() => server.stop()).then(() => process.exit(0)));
