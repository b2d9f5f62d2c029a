import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import pino from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Config } from '../config/load.js';
import { capabilitiesForUrl } from '../store/db.js';
import { ABORT_SETTLE_MS } from './dispatcher.js';
import type { RemoteWrite, RemoteWritesReply, RemoteWritesRequest } from './remote-writes.js';

/** What the worker thread starts from. */
export interface DispatchWorkerData {
  config: Config;
  /** The dispatcher's poll interval, ms (DepsOverrides.dispatchPollMs; tests). */
  pollMs?: number;
  /** The worker's checkpoint interval and the log length it restarts at (DepsOverrides.walCheckpoint; tests). */
  walCheckpoint?: WalCheckpointOptions;
  /** A descriptor of the database file, the main thread's (Store.wal.fileDescriptor), for flushing it before a hold. */
  databaseFd?: number;
}

export interface WalCheckpointOptions {
  everyMs: number;
  restartFrames: number;
}

/** Options of startDispatchWorker. */
export interface DispatchWorkerOptions {
  /** Longest sleep of the worker's dispatcher between looks at the outbox, ms (default its own). */
  pollMs?: number;
  walCheckpoint?: WalCheckpointOptions;
  /** Holds the main thread's group commit for the last pass of the worker's checkpoint (WriteRunner.hold). */
  holdWrites?: () => Promise<() => void>;
  /** A descriptor of the database file that stays open while the worker runs (Store.wal.fileDescriptor). */
  databaseFd?: number;
}

/** Longest the main thread holds its writes for the worker's checkpoint, ms: a worker that does not answer costs no more. */
const HOLD_WRITES_LIMIT_MS = 500;

export type HostMessage =
  | { type: 'wake' }
  | RemoteWritesReply
  | { type: 'providers-changed'; tenantId: string }
  | { type: 'metrics'; id: number }
  | { type: 'writes-held'; id: number }
  | { type: 'stop'; graceMs: number };
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'log'; line: string }
  | RemoteWritesRequest
  | { type: 'metrics'; id: number; metrics: Array<MetricObjectWithValues<MetricValue<string>>> }
  /** `flushed`: the worker flushed the database file just before asking (false when it could not). */
  | { type: 'hold-writes'; id: number; flushed: boolean }
  | { type: 'release-writes'; id: number }
  | { type: 'stopped' };

export interface DispatchWorker {
  wake(): void;
  /** A tenant's providers changed: the worker drops its cached chain (at once, not after the cache's 5 s). */
  providersChanged(tenantId: string): void;
  /** The worker's metrics (empty when it does not answer within 1 s). */
  metrics(): Promise<Array<MetricObjectWithValues<MetricValue<string>>>>;
  /**
   * Stops claiming, waits for in-flight deliveries up to `graceMs`, then aborts their provider
   * calls and lets each record its attempt and requeue its message; closes its connection.
   */
  stop(graceMs: number): Promise<void>;
  /** The underlying thread (tests). */
  readonly thread: Worker;
}

/**
 * Whether this configuration runs the dispatcher in a worker thread: `on`/`off` as set;
 * `auto` (the default) for a SQLite database file. With SQLite one event loop otherwise does
 * both the HTTP work and every delivery; a worker moves the deliveries (provider calls,
 * sealing, reads) to a second core, while the main thread's group commit stays the file's
 * only writer (docs/architecture.md). PostgreSQL nodes scale out instead, and an in-memory
 * SQLite database cannot be opened twice.
 */
export function usesDispatchWorker(config: Config): boolean {
  if (config.dispatchWorker !== 'auto') return config.dispatchWorker === 'on';
  const caps = capabilitiesForUrl(config.databaseUrl);
  return caps.singleWriter && caps.sharedConnections;
}

/** Whether a server started with these overrides runs the worker: not over a store a test handed in, which the worker could not open. */
export function runsDispatchWorker(config: Config, overrides: { store?: unknown }): boolean {
  return usesDispatchWorker(config) && !overrides.store;
}

/**
 * A worker thread running worker.js next to this file (the build), or worker.ts from source
 * (`npm run dev`, the tests): TypeScript loader hooks do not reach worker threads, so the
 * thread registers tsx itself before it imports the source.
 */
function newWorkerThread(workerData: unknown): Worker {
  const js = new URL('./worker.js', import.meta.url);
  const options = { workerData, stdout: false, stderr: false };
  if (existsSync(js)) return new Worker(js, options);
  const ts = new URL('./worker.ts', import.meta.url).href;
  // Resolved here, not in the thread: an eval'd worker resolves packages from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/**
 * Starts the dispatch worker and resolves once its dispatcher runs. Its log lines go to this
 * process's logger destination as they are (already redacted by the worker's logger); its
 * writes are run by `writes` (src/dispatcher/remote-writes.ts: the main thread's group
 * commit). `onExit` is called if the thread ends without being asked to stop.
 */
export function startDispatchWorker(
  config: Config,
  logger: Logger,
  writes: (batch: RemoteWrite[]) => Promise<RemoteWritesReply['results']>,
  onExit: (err: Error | undefined) => void,
  options: DispatchWorkerOptions = {},
): Promise<DispatchWorker> {
  const destination = (logger as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym];
  const data: DispatchWorkerData = {
    config,
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    ...(options.walCheckpoint ? { walCheckpoint: options.walCheckpoint } : {}),
    ...(options.databaseFd !== undefined ? { databaseFd: options.databaseFd } : {}),
  };
  const thread = newWorkerThread(data);
  const pending = new Map<number, (m: Array<MetricObjectWithValues<MetricValue<string>>>) => void>();
  let nextId = 1;
  let stopping: (() => void) | undefined;
  let exited = false;
  let wakePosted = false;
  // The worker asks for one hold at a time: the next only after it released this one.
  let held: { id: number; release(): void } | undefined;

  return new Promise<DispatchWorker>((resolve, reject) => {
    let ready = false;
    thread.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          ready = true;
          resolve(host);
          break;
        case 'log':
          destination?.write(m.line);
          break;
        case 'writes':
          // A claim on its way sees every message committed before it runs (it goes by this
          // thread's clock then: remote-writes.ts): no wake needed for those.
          if (m.writes.some((w) => w.kind === 'claim')) wakePosted = false;
          void writes(m.writes).then((results) => {
            if (!exited) thread.postMessage({ type: 'write-results', batch: m.batch, results } satisfies HostMessage);
          });
          break;
        case 'metrics':
          pending.get(m.id)?.(m.metrics);
          pending.delete(m.id);
          break;
        case 'hold-writes':
          void (options.holdWrites ?? (() => Promise.resolve(() => undefined)))().then((release) => {
            if (exited) return release();
            // A release is idempotent (WriteRunner.hold), so the limit's and the worker's may both come.
            const timer = setTimeout(release, HOLD_WRITES_LIMIT_MS);
            held = {
              id: m.id,
              release: () => {
                clearTimeout(timer);
                release();
              },
            };
            thread.postMessage({ type: 'writes-held', id: m.id } satisfies HostMessage);
          });
          break;
        case 'release-writes':
          if (held?.id === m.id) held.release();
          held = undefined;
          break;
        case 'stopped':
          stopping?.();
          break;
      }
    });
    thread.on('error', (err) => {
      if (!ready) reject(err);
      else logger.error({ err_name: err.name, err_message: err.message }, 'the dispatch worker failed');
    });
    thread.on('exit', (code) => {
      exited = true;
      held?.release();
      held = undefined;
      for (const [, done] of pending) done([]);
      pending.clear();
      stopping?.();
      if (!ready) reject(new Error(`the dispatch worker exited (code ${code}) before it started`));
      else if (!stopping) onExit(new Error(`the dispatch worker exited unexpectedly (code ${code})`));
    });

    const host: DispatchWorker = {
      thread,
      wake() {
        // One wake until the worker next asks for a claim: that claim takes every message
        // due by then, and a busy worker claims again on its own as its deliveries end.
        if (exited || stopping || wakePosted) return;
        wakePosted = true;
        thread.postMessage({ type: 'wake' } satisfies HostMessage);
      },
      providersChanged(tenantId) {
        if (!exited) thread.postMessage({ type: 'providers-changed', tenantId } satisfies HostMessage);
      },
      metrics() {
        if (exited) return Promise.resolve([]);
        const id = nextId++;
        return new Promise((done) => {
          const timer = setTimeout(() => {
            pending.delete(id);
            done([]);
          }, 1000);
          pending.set(id, (m) => {
            clearTimeout(timer);
            done(m);
          });
          thread.postMessage({ type: 'metrics', id } satisfies HostMessage);
        });
      },
      async stop(graceMs) {
        if (exited) return;
        const stopped = new Promise<void>((done) => {
          stopping = done;
        });
        thread.postMessage({ type: 'stop', graceMs } satisfies HostMessage);
        // The worker closes itself; if it hangs past the grace period, the wait for aborted
        // deliveries and a margin, end it.
        const timer = setTimeout(() => void thread.terminate(), graceMs + ABORT_SETTLE_MS + 5000);
        await stopped;
        clearTimeout(timer);
        if (!exited) await new Promise<void>((done) => thread.once('exit', () => done()));
      },
    };
  });
}

/** The main thread's metrics and the worker's, as one Prometheus text page. */
export async function mergedMetrics(main: Array<MetricObjectWithValues<MetricValue<string>>>, worker: Array<MetricObjectWithValues<MetricValue<string>>>): Promise<string> {
  return AggregatorRegistry.aggregate([main, worker]).metrics();
}
