// otpgate as `npm start` runs it (SQLite, Inbox provider, dispatcher on), with one tenant and
// key set up for the benchmark; prints the URL and the key.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server.js';

const dir = mkdtempSync(join(tmpdir(), 'otpgate-bench-'));
const config = loadConfig({
  ...process.env,
  OTPGATE_DATA_DIR: dir,
  OTPGATE_DATABASE_URL: process.env.OTPGATE_DATABASE_URL ?? `sqlite:${join(dir, 'otpgate.db')}`,
  OTPGATE_PORT: '0',
  OTPGATE_LOG_LEVEL: 'warn',
});
const server = await startServer(config, createLogger({ level: 'warn' }));
// BENCH_FRAUD_GUARD=enforce runs every rule of the fraud guard on each send, with thresholds out
// of reach so that nothing is refused (the cost of judging, not of refusing); the default is off.
const fraudGuard =
  process.env.BENCH_FRAUD_GUARD === 'enforce'
    ? {
        mode: 'enforce',
        thresholds: {
          country_day: { floor: 1_000_000 },
          country_hour: { floor: 1_000_000 },
          prefix_hour: { floor: 100_000 },
          prefix_day: { floor: 1_000_000 },
          prefix_velocity: { numbers: 100, span: 1 },
          // The default limit (10): every body is a US number, so it cannot trip, but a busy
          // IP's countries are read as they would be.
          ip_day: { floor: 1_000_000 },
          number_day: { max: 1000 },
        },
      }
    : { mode: 'off' };
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
