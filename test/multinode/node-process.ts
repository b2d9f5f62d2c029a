import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_ADMIN_KEY, TEST_SECRET_KEY } from '../helpers/app.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** One real otpgate process (`node --import tsx src/main.ts`), as an operator would run it. */
export interface OtpgateProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` once it listens. */
  url: string;
  /** stdout lines parsed as JSON (pino), and the raw stderr text. */
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /** SIGKILL: no drain, no lease given back. */
  kill(): Promise<void>;
  /** SIGTERM: graceful drain; SIGKILL if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** The environment of a test node: fixed keys (shared by every node), a temp data folder, port 0. */
export function nodeEnv(databaseUrl: string, extra: Record<string, string> = {}): { env: NodeJS.ProcessEnv; cleanup(): void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'otpgate-node-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTPGATE_') && k !== 'NODE_ENV') env[k] = v;
  Object.assign(env, {
    OTPGATE_DATABASE_URL: databaseUrl,
    OTPGATE_ADMIN_KEY: TEST_ADMIN_KEY,
    OTPGATE_SECRET_KEY: TEST_SECRET_KEY,
    OTPGATE_DATA_DIR: dataDir,
    OTPGATE_HOST: '127.0.0.1',
    OTPGATE_PORT: '0',
    OTPGATE_LOG_LEVEL: 'info',
    OTPGATE_SHUTDOWN_GRACE_MS: '2000',
    ...extra,
  });
  return { env, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/**
 * Spawns otpgate and, with `waitListening` (default), resolves once it logged `otpgate is
 * listening` (its URL is read from that line), or rejects with its stderr if it exits first
 * or takes longer than `timeoutMs`.
 */
export async function spawnOtpgate(
  databaseUrl: string,
  extraEnv: Record<string, string> = {},
  opts: { waitListening?: boolean; timeoutMs?: number } = {},
): Promise<OtpgateProcess> {
  const { env, cleanup } = nodeEnv(databaseUrl, extraEnv);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let err = '';
  let out = '';
  let onLine: ((line: Record<string, unknown>) => void) | undefined;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        onLine?.(parsed);
      } catch {
        // Not JSON (a banner): ignored.
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolveExit) =>
    child.on('exit', (code, signal) => {
      cleanup();
      resolveExit(code ?? signal ?? -1);
    }),
  );
  const proc: OtpgateProcess = {
    child,
    url: '',
    logs,
    stderr: () => err,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  if (opts.waitListening === false) return proc;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  proc.url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`otpgate did not listen within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    onLine = (line) => {
      if (line['msg'] === 'otpgate is listening' && typeof line['url'] === 'string') {
        clearTimeout(timer);
        resolveUrl(line['url']);
      }
    };
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`otpgate exited (${code}) before listening; stderr: ${err.trim()}`));
    });
  });
  return proc;
}
