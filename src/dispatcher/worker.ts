import { parentPort, workerData } from 'node:worker_threads';
import { createDeps } from '../deps.js';
import { createLogger } from '../observability/logger.js';
import { createRemoteWriteClient } from './remote-writes.js';
import type { DispatchWorkerData, HostMessage, WorkerMessage } from './worker-host.js';

/** How often the worker checkpoints the main thread's writes into the database file, ms. */
const CHECKPOINT_EVERY_MS = 1000;

/**
 * The dispatcher in a worker thread (SQLite: see worker-host.ts). It builds the same services
 * as the main thread over its own read-only connection to the database file, runs only the
 * dispatcher, hands every write (claims, outcomes, Inbox rows) to the main thread, and sends
 * its log lines and metrics there too.
 */
const port = parentPort;
if (!port) throw new Error('src/dispatcher/worker.ts runs only as a worker thread');
const post = (m: WorkerMessage) => port.postMessage(m);

const { config, pollMs } = workerData as DispatchWorkerData;
const remoteWrites = createRemoteWriteClient((m) => post(m));
const logger = createLogger({ level: config.logLevel, destination: { write: (line: string) => post({ type: 'log', line }) } }).child({ thread: 'dispatch-worker' });
const deps = createDeps(config, logger, {
  processMetrics: false,
  remoteWrites,
  ...(pollMs !== undefined ? { dispatchPollMs: pollMs } : {}),
});
deps.dispatcher.start();
// The main thread writes with its automatic checkpoints off; this thread checkpoints for it.
// A passive checkpoint with nothing new in the log costs little; one that copies takes this
// thread's time, not the request thread's.
const checkpoints = setInterval(() => {
  try {
    deps.store.wal?.checkpoint();
  } catch (err) {
    logger.warn({ err_message: (err as Error)?.message }, 'WAL checkpoint failed; trying again');
  }
}, CHECKPOINT_EVERY_MS);

port.on('message', (m: HostMessage) => {
  switch (m.type) {
    case 'wake':
      deps.dispatcher.wake();
      break;
    case 'write-results':
      remoteWrites.settle(m);
      break;
    case 'providers-changed':
      deps.providers.forgetChain(m.tenantId);
      break;
    case 'metrics':
      void deps.metrics.registry
        .getMetricsAsJSON()
        .then((metrics) => post({ type: 'metrics', id: m.id, metrics }))
        .catch(() => post({ type: 'metrics', id: m.id, metrics: [] }));
      break;
    case 'stop':
      void (async () => {
        // Past the grace period the provider calls are aborted, and each delivery still records
        // its attempt and requeues its message before the connection closes.
        await deps.dispatcher.stop(m.graceMs, () => deps.drain.abort());
        clearInterval(checkpoints);
        deps.drain.abort();
        remoteWrites.close();
        await deps.store.close().catch(() => undefined);
        post({ type: 'stopped' });
        port.close();
      })();
      break;
  }
});
post({ type: 'ready' });
