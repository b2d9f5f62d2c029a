import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { createDeps, type Deps } from '../../src/deps.js';
import type { Clock } from '../../src/domain/clock.js';
import { idPrefixOf } from '../../src/domain/ids.js';
import { createLogger } from '../../src/observability/logger.js';
import type { HttpClient } from '../../src/providers/http.js';
import { migrateToLatest } from '../../src/store/db.js';
import { createTestDatabase, type Dialect } from './databases.js';

export const TEST_ADMIN_KEY = 'adm_test_0123456789abcdefghijklmnop';
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

/**
 * Every log line the app wrote. `lines` is the raw JSON; `text()` is for "no secret in the logs"
 * assertions and masks what varies by chance between runs — JSON numbers (times, durations),
 * otpgate ids, Twilio-style SIDs and local ports — because a 5- or 6-digit code can turn up
 * inside those at random. Codes, keys and secrets are strings, so a leak of one is never masked.
 */
export interface LogCapture {
  lines: string[];
  text(): string;
}

const JSON_NUMBER = /(":)-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?=[,}\]])/g;
// Candidates only: idPrefixOf decides what is an otpgate id.
const ID_LIKE = /\b[a-z]{3}_[0-9a-z]{26}\b/g;
const LOCAL_PORT = /\b(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}\b/g;
const TWILIO_SID = /\b([A-Z]{2})[0-9a-f]{32}\b/g;

export function maskChance(text: string): string {
  return text.replace(JSON_NUMBER, '$10').replace(ID_LIKE, (id) => (idPrefixOf(id) ? `${id.slice(0, 3)}_<id>` : id)).replace(LOCAL_PORT, '$1:<port>').replace(TWILIO_SID, '$1<sid>');
}

export function captureLogs(): { stream: Writable; capture: LogCapture } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, capture: { lines, text: () => maskChance(lines.join('\n')) } };
}

export interface TestApp {
  app: FastifyInstance;
  deps: Deps;
  config: Config;
  logs: LogCapture;
  dbUrl: string;
  /** A tenant with an API key: `auth` is the Authorization header value. */
  createTenant(settings?: Record<string, unknown>, name?: string): Promise<{ tenantId: string; apiKey: string; keyId: string; auth: string }>;
  /** `app.inject` with JSON helpers. */
  call(method: string, url: string, opts?: { auth?: string; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse & { json<T = any>(): T }>;
  /** Runs the dispatcher until nothing is due (bounded). */
  drainOutbox(max?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Settings of a test tenant: the fraud guard is off unless the test sets `fraud_guard` itself.
 * Most suites send many unverified codes to neighbouring numbers on purpose (dispatch, caps,
 * failover), which is what pumping looks like; the fraud-guard suites turn it on.
 */
export function withoutFraudGuard(settings: Record<string, unknown> | undefined): Record<string, unknown> {
  return { fraud_guard: { mode: 'off' }, ...settings };
}

export interface TestAppOptions {
  dialect?: Dialect;
  env?: Record<string, string>;
  clock?: Clock;
  http?: HttpClient;
  /** Reuse an existing database (restart tests). */
  dbUrl?: string;
  /** Start the dispatcher loop (default false: tests drive it with drainOutbox). */
  startDispatcher?: boolean;
  /** Prefix of the Redis keys (with `OTPGATE_REDIS_URL` in `env`). */
  redisKeyPrefix?: string;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.dbUrl ? { url: options.dbUrl, drop: async () => undefined } : await createTestDatabase(options.dialect ?? 'sqlite');
  const dataDir = mkdtempSync(join(tmpdir(), 'otpgate-data-'));
  const config = loadConfig({
    OTPGATE_DATABASE_URL: db.url,
    OTPGATE_ADMIN_KEY: TEST_ADMIN_KEY,
    OTPGATE_SECRET_KEY: TEST_SECRET_KEY,
    OTPGATE_DATA_DIR: dataDir,
    OTPGATE_LOG_LEVEL: 'info',
    OTPGATE_PROVIDER_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const { stream, capture } = captureLogs();
  const logger = createLogger({ level: config.logLevel, destination: stream });
  const deps = createDeps(config, logger, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.http ? { http: options.http } : {}),
    ...(options.redisKeyPrefix !== undefined ? { redisKeyPrefix: options.redisKeyPrefix } : {}),
    dispatchPollMs: 50,
  });
  await migrateToLatest(deps.store);
  const app = await buildApp(deps);
  await app.ready();
  if (options.startDispatcher) deps.dispatcher.start();

  const call: TestApp['call'] = async (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth) headers.authorization = opts.auth;
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(opts.body !== undefined ? { payload: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body), headers: { 'content-type': 'application/json', ...headers } } : {}),
    });
    return res as LightMyRequestResponse & { json<T = any>(): T };
  };

  return {
    app,
    deps,
    config,
    logs: capture,
    dbUrl: db.url,
    call,
    async createTenant(settings, name = 'Acme') {
      const admin = `Bearer ${TEST_ADMIN_KEY}`;
      const t = await call('POST', '/v1/tenants', { auth: admin, body: { name, settings: withoutFraudGuard(settings) } });
      if (t.statusCode !== 201) throw new Error(`tenant create failed: ${t.body}`);
      const tenantId = t.json<{ id: string }>().id;
      const k = await call('POST', `/v1/tenants/${tenantId}/api-keys`, { auth: admin, body: { name: 'test' } });
      if (k.statusCode !== 201) throw new Error(`key create failed: ${k.body}`);
      const key = k.json<{ id: string; key: string }>();
      return { tenantId, apiKey: key.key, keyId: key.id, auth: `Bearer ${key.key}` };
    },
    async drainOutbox(max = 50) {
      for (let i = 0; i < max; i++) if ((await deps.dispatcher.runOnce()) === 0) return;
    },
    async close() {
      await app.close();
      await deps.dispatcher.stop(1000, () => deps.drain.abort());
      deps.drain.abort();
      await deps.sendLimiter?.close();
      await deps.store.close();
      if (!options.dbUrl) await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const adminAuth = `Bearer ${TEST_ADMIN_KEY}`;
