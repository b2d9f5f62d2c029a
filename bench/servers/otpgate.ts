// otpgate as `npm start` runs it (SQLite, Inbox provider, dispatcher on), with one tenant and
// key set up for the benchmark; prints the URL and the key.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server.js';
import { benchFraudGuard } from './bench-support.js';

const dir = process.env.BENCH_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'otpgate-bench-'));
const config = loadConfig({
  ...process.env,
  OTPGATE_DATA_DIR: dir,
  OTPGATE_DATABASE_URL: process.env.OTPGATE_DATABASE_URL ?? `sqlite:${join(dir, 'otpgate.db')}`,
  OTPGATE_PORT: '0',
  OTPGATE_LOG_LEVEL: 'warn',
});
const server = await startServer(config, createLogger({ level: 'warn' }));
const fraudGuard = benchFraudGuard(process.env.BENCH_FRAUD_GUARD);
const tenant = await server.deps.tenants.create(
  { name: 'Bench', settings: { max_sends_per_phone_per_hour: 100000, max_sends_per_ip_per_hour: 100000, resend_cooldown_seconds: 0, fraud_guard: fraudGuard } },
  'bench',
);
const key = await server.deps.apiKeys.create(tenant.id, 'bench', 'bench');
process.stdout.write(`listening ${server.url} ${key.key}\n`);
process.on('SIGTERM', () => {
  // How far delivery got while the load ran, before the drain on stop finishes the rest.
  void server.deps.store.db
    .selectFrom('messages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute()
    .then((rows) => process.stdout.write(`outbox ${rows.map((r) => `${r.status}=${Number(r.n)}`).join(' ')}\n`))
    .finally(() => void server.stop().then(() => process.exit(0)));
});
