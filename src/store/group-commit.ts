import { sql, type Kysely, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from './schema.js';

/** One unit of work: the statements of one request (or one delivery), run in a transaction. */
export type WriteUnit<T> = (trx: Transaction<Database>) => Promise<T>;

export interface WriteRunner {
  /** Runs `unit` atomically: either all its statements take effect, or none (it rejects). */
  write<T>(unit: WriteUnit<T>): Promise<T>;
  /**
   * SQLite's group commit: starts no batch after the one running, and resolves once that one
   * has committed, with the function that lets batches start again (a second call does
   * nothing). Units keep queueing meanwhile. (The dispatch worker holds the writes for the
   * last pass of a checkpoint, so that the log can start again from its beginning:
   * src/dispatcher/worker.ts.)
   */
  hold?(): Promise<() => void>;
}

/** Each unit in a transaction of its own (PostgreSQL: many connections work in parallel). */
export function createTransactionPerUnit(db: Kysely<Database>): WriteRunner {
  return { write: (unit) => db.transaction().execute(unit) };
}

/**
 * Group commit (SQLite): units that arrive while the single connection is busy are run one
 * after another in ONE transaction, each inside its own savepoint, and committed together.
 * A unit that throws rolls back to its savepoint only; the others still commit. Each unit's
 * promise settles after the commit, so a caller never answers before its writes are durable.
 * SQLite runs one writer at a time anyway, so batching loses no parallelism and saves a
 * commit (and its WAL write) per unit.
 */
export function createGroupCommit(db: Kysely<Database>, options: { maxBatch?: number; connection?: BetterSqlite3.Database } = {}): WriteRunner {
  const maxBatch = options.maxBatch ?? 256;
  // Savepoints run on the connection Kysely's transaction holds, synchronously: through
  // Kysely each one costs a query build, a compile and a driver round trip, and a send or a
  // delivery takes two of them.
  const connection = options.connection;
  const savepoint = async (trx: Transaction<Database>, statement: 'savepoint unit' | 'release savepoint unit' | 'rollback to savepoint unit') => {
    if (connection) connection.prepare(statement).run();
    else await sql.raw(statement).execute(trx);
  };
  type Item = { unit: WriteUnit<unknown>; resolve(v: unknown): void; reject(e: unknown): void };
  let queue: Item[] = [];
  let running = false;
  let holds = 0;
  const idle: Array<() => void> = [];

  /** Commits the units queued now as one transaction, and settles their promises. */
  async function commitQueued(): Promise<void> {
    const batch = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue.splice(0);
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await db.transaction().execute(async (trx) => {
        for (const item of batch) {
          await savepoint(trx, 'savepoint unit');
          try {
            const value = await item.unit(trx);
            await savepoint(trx, 'release savepoint unit');
            outcomes.push({ ok: true, value });
          } catch (error) {
            await savepoint(trx, 'rollback to savepoint unit');
            await savepoint(trx, 'release savepoint unit');
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed: nothing of this batch took effect.
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }

  async function flush(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0 && holds === 0) await commitQueued();
    } finally {
      running = false;
      for (const done of idle.splice(0)) done();
    }
  }

  function schedule(): void {
    if (running || holds > 0 || queue.length === 0) return;
    running = true;
    // Let the other requests of this event-loop turn join the batch.
    setImmediate(() => void flush());
  }

  return {
    write<T>(unit: WriteUnit<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ unit: unit as WriteUnit<unknown>, resolve: resolve as (v: unknown) => void, reject });
        schedule();
      });
    },
    hold() {
      holds += 1;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        holds -= 1;
        schedule();
      };
      if (!running) return Promise.resolve(release);
      return new Promise((done) => idle.push(() => done(release)));
    },
  };
}
