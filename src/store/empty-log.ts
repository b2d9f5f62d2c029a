import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Store } from './db.js';

export interface EmptyLogOptions {
  /** Tries at most (default 5). */
  tries?: number;
  /** How long a try waits for a reader still on the log, blocking the thread, ms (default 200); the pause after the n-th try is n times as long. */
  waitMs?: number;
}

/**
 * Empties SQLite's write-ahead log into the database file (`Store.wal.truncate`), between two
 * write batches. The log keeps the pages a change wrote over, as they were, until a checkpoint
 * starts it again, and even then only the frames written anew are overwritten: after an erasure,
 * a purge or the hashing of numbers, a copy of the data directory would still hold what went.
 * A reader still on the log (the dispatch worker's) makes a try fail: it is tried again a few
 * times. Resolves true once the log is empty, false if it could not be (logged); on a store
 * without a log, true.
 */
export async function emptyWriteAheadLog(store: Pick<Store, 'wal' | 'writes'>, logger: Logger, after: string, options: EmptyLogOptions = {}): Promise<boolean> {
  const tries = options.tries ?? 5;
  const waitMs = options.waitMs ?? 200;
  const wal = store.wal;
  const hold = store.writes.hold?.bind(store.writes);
  if (!wal || !hold) return true;
  for (let attempt = 1; attempt <= tries; attempt++) {
    const release = await hold();
    let emptied = false;
    try {
      emptied = wal.truncate(waitMs);
    } catch (err) {
      logger.warn({ err_message: (err as Error)?.message, after }, 'the checkpoint that empties the write-ahead log failed');
    } finally {
      release();
    }
    if (emptied) return true;
    if (attempt < tries) await delay(waitMs * attempt);
  }
  logger.warn({ tries, after }, 'the write-ahead log could not be emptied: it may hold removed rows until it is written over');
  return false;
}
