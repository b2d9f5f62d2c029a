import { fdatasyncSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createDeps } from '../deps.js';
import { createLogger } from '../observability/logger.js';
import { createRemoteWriteClient } from './remote-writes.js';
import type { DispatchWorkerData, HostMessage, WorkerMessage } from './worker-host.js';

/** How often the worker checkpoints the main thread's writes into the database file, ms. */
const CHECKPOINT_EVERY_MS = 1000;
/**
 * A log of at least this many frames (4 KiB pages, so 128 MiB) is started again from its
 * beginning: the worker holds the main thread's writes for a last checkpoint pass (below).
 * Each hold delays the requests of that moment by the pass (5–8 ms on average under full
 * load); at this length it comes about every two seconds of full load. A shorter log meant
 * more holds, and a higher p99 (docs/performance.md, 2026-12-06).
 */
const WAL_RESTART_FRAMES = 32_768;
/**
 * Rounds of a pass and a flush of the database file before each hold: a held pass took 11–17 ms
 * on average at full load after one, 5–8 ms after two (docs/performance.md, 2026-12-06).
 */
const FLUSH_ROUNDS_BEFORE_HOLD = 2;

/**
 * The dispatcher in a worker thread (SQLite: see worker-host.ts). It builds the same services
 * as the main thread over its own read-only connection to the database file, runs only the
 * dispatcher, hands every write (claims, outcomes, Inbox rows) to the main thread, and sends
 * its log lines and metrics there too.
 */
const port = parentPort;
if (!port) throw new Error('src/dispatcher/worker.ts runs only as a worker thread');
const post = (m: WorkerMessage) => port.postMessage(m);

const { config, pollMs, walCheckpoint, databaseFd } = workerData as DispatchWorkerData;
const checkpointEveryMs = walCheckpoint?.everyMs ?? CHECKPOINT_EVERY_MS;
const restartFrames = walCheckpoint?.restartFrames ?? WAL_RESTART_FRAMES;
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
// SQLite writes the log from its beginning again only when a write starts after a checkpoint
// has copied every frame. Under steady load the main thread commits while each pass copies,
// so the log would grow without end (1.3 GB in 15 s at full load), and appending to it costs
// the request thread the file system's block allocation. So once the log is long, the worker
// asks the main thread to start no new batch, copies the few frames since its last pass, and
// lets the writes go on: the next one restarts the log.
// That held pass ends by syncing the database file, which flushes every page the passes since
// the last hold copied into it (21–23 ms of the 51–55 ms a held pass took at full load). So
// before asking, the worker copies what was committed during its last pass and flushes the file
// itself while the writes go on, twice (the second round has only the first's time to catch
// up on): the held pass then copies and syncs only the last moments'.
let holding = 0;
let holdSeq = 0;
// The log's length at the last hold, until a pass finds it shorter (it started over). A hold
// that did not restart it (a reader of this thread was on the log) is tried again four passes on.
let heldAtFrames = 0;
let lastHoldAt = -Infinity;
let flushFailed = false;
/** Flushes the database file's copied pages to disk; false when there is no descriptor or it failed. */
const flushDatabaseFile = (): boolean => {
  if (databaseFd === undefined || flushFailed) return false;
  try {
    fdatasyncSync(databaseFd);
    return true;
  } catch (err) {
    flushFailed = true;
    logger.warn({ err_message: (err as Error)?.message }, 'the database file could not be flushed before a checkpoint hold; holding without it from now on');
    return false;
  }
};
const checkpoint = () => {
  try {
    return deps.store.wal?.checkpoint();
  } catch (err) {
    logger.warn({ err_message: (err as Error)?.message }, 'WAL checkpoint failed; trying again');
    return undefined;
  }
};
const checkpoints = setInterval(() => {
  if (holding) return;
  const pass = checkpoint();
  if (!pass) return;
  if (pass.logFrames < heldAtFrames) heldAtFrames = 0;
  if (pass.logFrames >= restartFrames && (heldAtFrames === 0 || performance.now() - lastHoldAt >= 4 * checkpointEveryMs)) {
    heldAtFrames = pass.logFrames;
    let flushed = false;
    for (let round = 0; round < FLUSH_ROUNDS_BEFORE_HOLD; round++) {
      checkpoint();
      flushed = flushDatabaseFile();
    }
    lastHoldAt = performance.now();
    holding = ++holdSeq;
    post({ type: 'hold-writes', id: holding, flushed });
  }
}, checkpointEveryMs);

port.on('message', (m: HostMessage) => {
  switch (m.type) {
    case 'wake':
      deps.dispatcher.wake();
      break;
    case 'write-results':
      remoteWrites.settle(m);
      break;
    case 'writes-held':
      if (m.id !== holding) break;
      checkpoint();
      holding = 0;
      post({ type: 'release-writes', id: m.id });
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
