import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import SqliteDatabase from './sqlite-driver.js';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import { registerSyncSqlite } from './prepared.js';
import { createGroupCommit, createTransactionPerUnit, type WriteRunner } from './group-commit.js';
import { staticMigrationProvider } from './migrations/index.js';
import { guardPgPool } from './pg-pool.js';
import type { StoreAvailability } from './availability.js';

/**
 * What one engine can do that another cannot. Query modules branch on these flags, never on
 * the dialect's name.
 */
export interface StoreCapabilities {
  /** `SELECT … FOR UPDATE SKIP LOCKED` for claims (PostgreSQL). SQLite serialises writers instead. */
  skipLocked: boolean;
  /** `LISTEN/NOTIFY` to wake dispatchers on other nodes. */
  listenNotify: boolean;
  /** More than one otpgate process may share this store. */
  multiNode: boolean;
  /** Writes of concurrent requests are committed together (SQLite: one writer anyway). */
  groupCommit: boolean;
  /**
   * One writer at a time for the whole database (SQLite's file lock): concurrent writes are
   * serialised by the engine itself, so nothing needs a lock of its own, and the one process
   * writing does both the requests and the deliveries unless a second thread takes the latter.
   */
  singleWriter: boolean;
  /**
   * Transaction-level advisory locks on an arbitrary key (`pg_advisory_xact_lock`, released at
   * COMMIT or ROLLBACK): how concurrent sends for one phone serialise across connections and
   * nodes when writers do run side by side.
   */
  advisoryLocks: boolean;
  /**
   * Another connection (a worker thread, another process) can open the same database. False
   * for an in-memory SQLite database, which lives only in the connection that made it.
   */
  sharedConnections: boolean;
  /**
   * A passcode send can be made by one call of the `otpgate_send` function (migration 0017):
   * lock, checks and inserts in one statement instead of a transaction of round trips.
   */
  sendFunction: boolean;
  /**
   * A passcode verify reads by one call of `otpgate_verify_read` and approves by one of
   * `otpgate_verify_approve` (migration 0018) instead of a transaction of round trips.
   */
  verifyFunctions: boolean;
  /**
   * A statement runs on the thread that serves the requests (better-sqlite3 is synchronous), so
   * a long read stops every request for as long as it runs: reads whose size grows with the
   * data go in bounded chunks.
   */
  blockingReads: boolean;
}

const SQLITE_FILE: StoreCapabilities = {
  skipLocked: false,
  listenNotify: false,
  multiNode: false,
  groupCommit: true,
  singleWriter: true,
  advisoryLocks: false,
  sharedConnections: true,
  sendFunction: false,
  verifyFunctions: false,
  blockingReads: true,
};
const POSTGRES: StoreCapabilities = {
  skipLocked: true,
  listenNotify: true,
  multiNode: true,
  groupCommit: false,
  singleWriter: false,
  advisoryLocks: true,
  sharedConnections: true,
  sendFunction: true,
  verifyFunctions: true,
  blockingReads: false,
};

const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

/**
 * The capabilities of the engine a database URL selects (its scheme, and for SQLite whether
 * it is in memory), without opening it: for decisions taken before or outside the store, such
 * as whether to run the dispatcher in a worker thread. `createStore(url).capabilities` holds the same flags.
 */
export function capabilitiesForUrl(url: string): Readonly<StoreCapabilities> {
  if (url.startsWith('sqlite:')) {
    return Object.freeze(url === 'sqlite::memory:' ? { ...SQLITE_FILE, sharedConnections: false } : { ...SQLITE_FILE });
  }
  if (isPostgresUrl(url)) return Object.freeze({ ...POSTGRES });
  throw new Error('database URL must start with sqlite: or postgres://');
}

export type Executor = Kysely<Database> | Transaction<Database>;

export interface Store {
  db: Kysely<Database>;
  capabilities: StoreCapabilities;
  /** Atomic units of work: group-committed on SQLite, a transaction each on PostgreSQL. */
  writes: WriteRunner;
  /**
   * Runs a write outside `writes` (the dispatchers' claims): as it is, as this store's
   * connection is the only one of this process that writes (the dispatch worker's is
   * read-only and hands its writes to the main thread: src/dispatcher/remote-writes.ts).
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** A readable name of the engine and location, without credentials. */
  description: string;
  /**
   * SQLite: control of the write-ahead log's checkpoints. With the dispatch worker the main
   * thread turns its automatic checkpoints off (0) and the worker runs them (a checkpoint
   * copies pages into the file and syncs it: time the request thread need not spend), passive,
   * so they never hold up a writer. 1000 pages is SQLite's default. `checkpoint` answers how
   * many frames the log holds. `fileDescriptor` is a descriptor of the database file that stays
   * open until the store closes, for the worker to flush the file with (fdatasync) without
   * holding any writer; undefined for an in-memory database.
   */
  wal?: {
    autoCheckpoint(pages: number): void;
    checkpoint(): { logFrames: number };
    fileDescriptor(): number | undefined;
    /**
     * A full checkpoint that empties the log file (`wal_checkpoint(TRUNCATE)`), so that no old
     * copy of an erased row stays in it: true when the log is empty now. It waits at most
     * `waitMs` for readers still on the log, blocking the thread; false if one stayed. Run it
     * between write batches (WriteRunner.hold).
     */
    truncate(waitMs: number): boolean;
  };
  /** `pg.Pool` behind the store (PostgreSQL only). */
  pgPool?: pg.Pool;
  /** Whether the database is taken as away (PostgreSQL only: src/store/pg-pool.ts). */
  availability?: StoreAvailability;
  /**
   * Opens a NEW connection with the pool's settings, outside the pool (PostgreSQL only): for
   * the LISTEN session of src/dispatcher/wakeup.ts, which must not hold a pool slot forever.
   * The caller connects and ends it.
   */
  newPgClient?: () => pg.Client;
  /**
   * A short-lived Kysely for migrations on its own small pool without the statement timeout
   * (PostgreSQL only): waiting for another node's migration lock, or a migration that builds
   * an index on a large table, may take longer than the timeout meant for requests.
   * migrateToLatest destroys it when done.
   */
  newMigrationDb?: () => Kysely<Database>;
  close(): Promise<void>;
}

export interface StoreOptions {
  pgPoolSize?: number;
  pgStatementTimeoutMs?: number;
  /** How long opening a PostgreSQL connection, or waiting for a free pool slot, may take, ms. */
  pgConnectTimeoutMs?: number;
  /** Client-side deadline of one PostgreSQL query, ms (src/store/pg-pool.ts). */
  pgQueryTimeoutMs?: number;
  /** PostgreSQL: told once when the database stops answering, and once when it answers again. */
  onAvailability?: (available: boolean, detail: string) => void;
  /**
   * SQLite: a connection that cannot write (the dispatch worker's; the main thread writes for
   * it). A write through it fails at once instead of taking the file's write lock.
   */
  readOnly?: boolean;
}

/** Defaults of the PostgreSQL deadlines when the caller gives none (the config's defaults). */
export const PG_CONNECT_TIMEOUT_MS = 3000;
export const PG_QUERY_TIMEOUT_MS = 6000;

// int8 (bigint) columns hold millisecond times and counts, all well within 2^53.
pg.types.setTypeParser(20, (v: string) => Number.parseInt(v, 10));

/**
 * Kysely's SQLite driver prepares every statement on every call; preparing is a good part of
 * a query's cost on the hot paths. The query layer builds a small, fixed set of SQL strings,
 * so their prepared statements are kept (bounded, in case a caller builds unbounded SQL).
 */
export function withStatementCache(sqlite: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (text: string) => {
          // Transactions write (sends, deliveries, admin changes), so they take the write lock
          // at BEGIN. A deferred transaction that reads first and then writes fails at once
          // with SQLITE_BUSY_SNAPSHOT when another connection (the dispatch worker, another
          // process) committed in between, instead of waiting busy_timeout for the lock.
          const source = text === 'begin' ? 'begin immediate' : text;
          let stmt = cache.get(source);
          if (!stmt) {
            stmt = target.prepare(source);
            if (cache.size >= 500) cache.clear();
            cache.set(source, stmt);
          }
          return stmt;
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export function createStore(url: string, options: StoreOptions = {}): Store {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new SqliteDatabase(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    // Erased and purged rows must not linger as stale bytes in the file, freed pages included
    // (docs/data-lifecycle.md). The cost is writing pages that a delete frees, i.e. purges.
    sqlite.pragma('secure_delete = ON');
    sqlite.pragma('busy_timeout = 5000');
    // Memory-mapped reads keep the hot indexes (outbox, challenges by phone) in memory; temp
    // B-trees (ORDER BY) stay in memory too. The page cache stays at 16 MiB: when a B-tree
    // split reorders pages, SQLite parks one under a page number far past the file's end,
    // and the commit then walks the whole cache to drop it. At 64 MiB a batch's commit took
    // 1.6–1.9 times as long as at 16 MiB on a 600 MB file (bench/sqlite-page-cache.ts); on a
    // 14 GiB store 256 MiB still sent slower (docs/performance.md).
    sqlite.pragma('cache_size = -16384');
    sqlite.pragma('mmap_size = 268435456');
    sqlite.pragma('temp_store = MEMORY');
    // SQLite's own lower() folds A–Z only, so a search for "ZOË" would miss "Zoë" (tenant search).
    // No index or stored value depends on lower(), so JavaScript's Unicode folding replaces it.
    sqlite.function('lower', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? s.toLowerCase() : s));
    if (options.readOnly) sqlite.pragma('query_only = ON');
    const cached = withStatementCache(sqlite);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached }) });
    registerSyncSqlite(db, cached);
    // Opened on first use and closed only after the connection: closing a descriptor drops
    // every POSIX lock this process holds on the file, SQLite's included.
    let syncFd: number | undefined;
    return {
      db,
      capabilities: capabilitiesForUrl(url),
      writes: createGroupCommit(db, { connection: cached }),
      exclusive: (fn) => fn(),
      wal: {
        autoCheckpoint: (pages) => void sqlite.pragma(`wal_autocheckpoint = ${Math.max(0, Math.trunc(pages))}`),
        checkpoint: () => {
          const [row] = sqlite.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
          return { logFrames: row?.log ?? 0 };
        },
        fileDescriptor: () => (file === ':memory:' ? undefined : (syncFd ??= openSync(file, 'r'))),
        truncate: (waitMs) => {
          // A transaction of this connection still open (one of the few outside the group
          // commit, between two of its statements): try again later.
          if (sqlite.inTransaction) return false;
          const wait = sqlite.pragma('busy_timeout', { simple: true }) as number;
          sqlite.pragma(`busy_timeout = ${Math.max(0, Math.trunc(waitMs))}`);
          try {
            const [row] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
            return row?.busy === 0;
          } finally {
            sqlite.pragma(`busy_timeout = ${wait}`);
          }
        },
      },
      description: `sqlite ${file}`,
      close: async () => {
        await db.destroy();
        if (syncFd !== undefined) closeSync(syncFd);
        syncFd = undefined;
      },
    };
  }
  if (isPostgresUrl(url)) {
    const connection: pg.ClientConfig = {
      connectionString: url,
      statement_timeout: options.pgStatementTimeoutMs ?? 5000,
      connectionTimeoutMillis: options.pgConnectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS,
      // Half-open TCP connections (a failed-over server, a dropped NAT entry) are found by the
      // kernel instead of hanging until the statement timeout.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'otpgate',
    };
    const pool = new pg.Pool({ ...connection, max: options.pgPoolSize ?? 10 });
    // An idle client's error (server restart) must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    const awayListeners: Array<(detail: string) => void> = [];
    const guarded = guardPgPool(pool, {
      queryTimeoutMs: options.pgQueryTimeoutMs ?? PG_QUERY_TIMEOUT_MS,
      onAvailability: (available, detail) => {
        options.onAvailability?.(available, detail);
        if (!available) for (const listener of awayListeners) listener(detail);
      },
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded }) });
    const u = new URL(url);
    return {
      db,
      pgPool: pool,
      availability: {
        get away() {
          return !guarded.available;
        },
        onAway: (listener) => void awayListeners.push(listener),
      },
      newPgClient: () => new pg.Client({ ...connection, application_name: 'otpgate-listen' }),
      newMigrationDb: () => {
        const migrationPool = new pg.Pool({ ...connection, statement_timeout: 0, max: 2, application_name: 'otpgate-migrate' });
        migrationPool.on('error', () => undefined);
        return new Kysely<Database>({ dialect: new PostgresDialect({ pool: migrationPool }) });
      },
      capabilities: capabilitiesForUrl(url),
      writes: createTransactionPerUnit(db),
      exclusive: (fn) => fn(),
      description: `postgres ${u.hostname}:${u.port || 5432}${u.pathname}`,
      close: () => db.destroy(),
    };
  }
  throw new Error('database URL must start with sqlite: or postgres://');
}

/**
 * Applies every pending migration. Safe when several nodes start at once: on PostgreSQL,
 * Kysely's PostgresAdapter takes the session advisory lock `pg_advisory_lock(3853314791062309107)`
 * on one connection and runs every pending migration inside one transaction under it, so a
 * second node waits, then finds nothing left to do (test/postgres/migrate-concurrent.test.ts
 * starts several processes at once on one fresh database). The creation of Kysely's own
 * bookkeeping tables before the lock tolerates a concurrent creator. On SQLite the database
 * file's write lock serialises migrators.
 *
 * On PostgreSQL it runs on a separate small pool without the statement timeout, so a node
 * that waits for another's long migration waits (Kysely bounds the lock wait at one hour)
 * instead of failing after OTPGATE_PG_STATEMENT_TIMEOUT_MS.
 */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const db = store.newMigrationDb?.() ?? store.db;
  try {
    const migrator = new Migrator({ db, provider: staticMigrationProvider });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error instanceof Error ? error : new Error(String(error));
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } finally {
    if (db !== store.db) await db.destroy();
  }
}
