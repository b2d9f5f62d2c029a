import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config/load.js';
import { createDeps, type Deps, type DepsOverrides } from './deps.js';
import { createOutboxWakeup, type OutboxWakeup } from './dispatcher/wakeup.js';
import { createRemoteWriteServer } from './dispatcher/remote-writes.js';
import { startDispatchWorker, runsDispatchWorker, type DispatchWorker } from './dispatcher/worker-host.js';
import { DatabaseStartupError } from './startup-errors.js';
import { migrateToLatest } from './store/db.js';
import { notifyChannel } from './store/queries/messages.js';

/** A running otpgate: HTTP app, dispatcher and store, with an orderly stop. */
export interface RunningServer {
  app: FastifyInstance;
  deps: Deps;
  /** `http://host:port` it listens on. */
  url: string;
  /** LISTEN/NOTIFY between nodes, when the store supports it (PostgreSQL). */
  wakeup: OutboxWakeup | undefined;
  /** Where the dispatcher runs: a worker thread (SQLite file, by default) or this thread. */
  readonly dispatchMode: 'worker' | 'in-process';
  /** The dispatch worker while it runs. */
  readonly dispatchWorker: DispatchWorker | undefined;
  /** Stops taking requests, drains in-flight sends (up to the grace period), closes the store. */
  stop(): Promise<void>;
}

/**
 * With a store that several nodes share, a local enqueue also NOTIFYs the other nodes, and
 * their NOTIFYs wake this node's dispatcher.
 */
function wireWakeup(deps: Deps, logger: Logger, localWake: () => void): OutboxWakeup | undefined {
  const { store } = deps;
  if (!store.capabilities.listenNotify || !store.newPgClient) return undefined;
  const wakeup = createOutboxWakeup({
    newClient: store.newPgClient,
    logger: logger.child({ component: 'wakeup' }),
    onWake: () => localWake(),
    fallbackNotify: (channel, payload) => notifyChannel(store.db, channel, payload),
  });
  return wakeup;
}

/**
 * Every node sharing a database must hold the same secret key (sealed bodies and provider
 * secrets written by one node are opened by another) and the same admin key. A key generated
 * into this node's data folder is almost certainly not shared: say so loudly.
 */
function warnAboutNodeLocalKeys(deps: Deps, config: Config, logger: Logger): void {
  if (!deps.store.capabilities.multiNode) return;
  const secretFile = join(config.dataDir, 'secret-key');
  const generated: string[] = [];
  if (existsSync(secretFile) && readFileSync(secretFile, 'utf8').trim() === config.secretKey) generated.push('OTPGATE_SECRET_KEY');
  if (config.generatedAdminKey) generated.push('OTPGATE_ADMIN_KEY');
  if (generated.length === 0) return;
  logger.warn(
    { generated, data_dir: config.dataDir },
    `${generated.join(' and ')} came from this node's data folder; every node sharing this database needs the same value: set ${generated.join(' and ')} on all of them (docs/operations.md)`,
  );
}

/** Migrates, builds and starts everything; used by main.ts, the CLI and the tests. */
export async function startServer(config: Config, logger: Logger, overrides: DepsOverrides = {}): Promise<RunningServer> {
  // With the dispatcher in a worker thread, this thread's group commit still writes for both
  // (src/dispatcher/remote-writes.ts): the file has one writer, and no thread waits for a lock.
  const useWorker = runsDispatchWorker(config, overrides);
  const deps = createDeps(config, logger, overrides);
  let wakeup: OutboxWakeup | undefined;
  // A local enqueue wakes this node's dispatcher (in this thread or the worker) and, with a
  // shared store, NOTIFYs the other nodes; their NOTIFYs wake this node's dispatcher.
  let localWake: () => void = () => deps.dispatcher.wake();
  deps.setWake(() => {
    localWake();
    wakeup?.notify();
  });
  /** A hold of the group commit for the worker's checkpoint, its length observed once at its first release. */
  const timedHold = async (hold: () => Promise<() => void>): Promise<() => void> => {
    const release = await hold();
    const since = performance.now();
    let done = false;
    return () => {
      if (!done) deps.metrics.writeHolds.observe((performance.now() - since) / 1000);
      done = true;
      release();
    };
  };
  let app: FastifyInstance | undefined;
  try {
    await migrateToLatest(deps.store).catch((err: unknown) => {
      throw new DatabaseStartupError(deps.store.description, err);
    });
    wakeup = wireWakeup(deps, logger, () => localWake());
    await wakeup?.start();
    await deps.sendLimiter?.start();
    app = await buildApp(deps);
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app?.close().catch(() => undefined);
    await wakeup?.stop();
    await deps.sendLimiter?.close();
    await deps.store.close().catch(() => undefined);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  let stopped = false;
  let worker: DispatchWorker | undefined;
  const inProcess = () => {
    worker = undefined;
    deps.store.wal?.autoCheckpoint(1000);
    localWake = () => deps.dispatcher.wake();
    deps.dispatcher.start();
  };
  if (useWorker) {
    try {
      const databaseFd = deps.store.wal?.fileDescriptor();
      const hold = deps.store.writes.hold;
      worker = await startDispatchWorker(config, logger, createRemoteWriteServer(deps.store, deps.events, { clock: deps.clock }), (err) => {
        if (stopped) return;
        // Nothing accepted is lost: the main thread takes over, and the worker's claims come
        // back when their leases run out.
        logger.error({ err_message: err?.message }, 'the dispatch worker stopped; dispatching in the main thread from now on');
        inProcess();
      }, {
        ...(overrides.dispatchPollMs !== undefined ? { pollMs: overrides.dispatchPollMs } : {}),
        ...(overrides.walCheckpoint ? { walCheckpoint: overrides.walCheckpoint } : {}),
        ...(hold ? { holdWrites: () => timedHold(hold) } : {}),
        ...(databaseFd !== undefined ? { databaseFd } : {}),
      });
      const w = worker;
      // The worker checkpoints the log (src/dispatcher/worker.ts).
      deps.store.wal?.autoCheckpoint(0);
      localWake = () => w.wake();
      deps.setWorkerMetrics(() => (worker ? worker.metrics() : Promise.resolve([])));
      deps.setProvidersChanged((tenantId) => worker?.providersChanged(tenantId));
    } catch (err) {
      logger.error({ err_message: (err as Error).message }, 'the dispatch worker could not start; dispatching in the main thread');
      inProcess();
    }
  } else deps.dispatcher.start();
  deps.eventWorker.start();
  warnAboutNodeLocalKeys(deps, config, logger);
  const running: RunningServer = {
    app,
    deps,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    wakeup,
    get dispatchMode() {
      return worker ? 'worker' : 'in-process';
    },
    get dispatchWorker() {
      return worker;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // The grace period counts from here: first the HTTP requests in flight are answered (new
      // ones are refused), then the deliveries in flight get what is left of it. Past it their
      // provider calls are aborted, and each records its attempt and requeues its message
      // before the store closes (at-least-once: docs/architecture.md).
      const deadline = Date.now() + config.shutdownGraceMs;
      // A request answered while closing leaves its keep-alive connection idle, and the close
      // would wait out Fastify's keep-alive timeout (72 s) for it: close those as they go idle.
      const sweep = setInterval(() => running.app.server.closeIdleConnections(), 50);
      try {
        await running.app.close();
      } finally {
        clearInterval(sweep);
      }
      const graceMs = Math.max(0, deadline - Date.now());
      await Promise.all([worker?.stop(graceMs), deps.dispatcher.stop(graceMs, () => deps.drain.abort()), deps.eventWorker.stop(graceMs)]);
      deps.drain.abort();
      await wakeup?.stop();
      await deps.sendLimiter?.close();
      await deps.store.close();
    },
  };
  return running;
}
