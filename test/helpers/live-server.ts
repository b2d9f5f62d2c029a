import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { DepsOverrides } from '../../src/deps.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createStore, type Store } from '../../src/store/db.js';
import { captureLogs, TEST_ADMIN_KEY, TEST_SECRET_KEY, type LogCapture } from './app.js';

/**
 * A real otpgate (startServer) on 127.0.0.1 over a database the caller chooses, so a test can
 * stop it and start another on the same data, and pass DepsOverrides (test/helpers/server.ts
 * cannot).
 */
export interface LiveServer {
  server: RunningServer;
  url: string;
  logs: LogCapture;
  /** JSON over real HTTP. */
  api(method: string, path: string, auth: string, body?: unknown): Promise<{ status: number; text: string; json<T = any>(): T }>;
  /** A tenant with an API key (Authorization header value), cooldown and hourly cap out of the way. */
  tenant(): Promise<string>;
}

/** A folder for the data dir (and the SQLite file); `remove()` deletes it. */
export function tempDataDir(): { dir: string; sqliteUrl: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-live-'));
  return { dir, sqliteUrl: `sqlite:${join(dir, 'otpgate.db')}`, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startLiveServer(opts: { dbUrl: string; dataDir: string; env?: Record<string, string>; overrides?: DepsOverrides }): Promise<LiveServer> {
  const config = loadConfig({
    OTPGATE_DATABASE_URL: opts.dbUrl,
    OTPGATE_ADMIN_KEY: TEST_ADMIN_KEY,
    OTPGATE_SECRET_KEY: TEST_SECRET_KEY,
    OTPGATE_DATA_DIR: opts.dataDir,
    OTPGATE_PORT: '0',
    OTPGATE_HOST: '127.0.0.1',
    ...opts.env,
  });
  const { stream, capture } = captureLogs();
  const server = await startServer(config, createLogger({ level: 'info', destination: stream }), opts.overrides);
  const api: LiveServer['api'] = async (method, path, auth, body) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: <T = any>() => JSON.parse(text) as T };
  };
  return {
    server,
    url: server.url,
    logs: capture,
    api,
    async tenant() {
      const admin = `Bearer ${TEST_ADMIN_KEY}`;
      const t = await api('POST', '/v1/tenants', admin, { name: 'Live', settings: { resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 1000, fraud_guard: { mode: 'off' } } });
      assert.equal(t.status, 201, t.text);
      const k = await api('POST', `/v1/tenants/${t.json().id}/api-keys`, admin, { name: 'live' });
      assert.equal(k.status, 201, k.text);
      return `Bearer ${k.json().key}`;
    },
  };
}

/** Opens the database on its own (for looking at it after a server stopped), runs `fn`, closes it. */
export async function withStore<T>(dbUrl: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = createStore(dbUrl);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Polls `fn` until it returns something other than undefined. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
