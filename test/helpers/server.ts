import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import type { DepsOverrides } from '../../src/deps.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { captureLogs, TEST_ADMIN_KEY, TEST_SECRET_KEY, type LogCapture } from './app.js';

/** A real otpgate listening on 127.0.0.1 (random port), with SQLite in a temp folder. */
export async function startTestServer(opts: { env?: Record<string, string>; overrides?: DepsOverrides } = {}): Promise<{
  url: string;
  adminKey: string;
  server: RunningServer;
  logs: LogCapture;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-srv-'));
  const config = loadConfig({
    OTPGATE_DATABASE_URL: `sqlite:${join(dir, 'otpgate.db')}`,
    OTPGATE_ADMIN_KEY: TEST_ADMIN_KEY,
    OTPGATE_SECRET_KEY: TEST_SECRET_KEY,
    OTPGATE_DATA_DIR: dir,
    OTPGATE_PORT: '0',
    OTPGATE_HOST: '127.0.0.1',
    OTPGATE_SHUTDOWN_GRACE_MS: '2000',
    ...opts.env,
  });
  const { stream, capture } = captureLogs();
  const server = await startServer(config, createLogger({ level: 'info', destination: stream }), opts.overrides);
  return {
    url: server.url,
    adminKey: TEST_ADMIN_KEY,
    server,
    logs: capture,
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
