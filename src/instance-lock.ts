import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import SqliteDatabase from './store/sqlite-driver.js';

/**
 * One otpgate process per SQLite file. Two would each run a dispatcher and keep their own
 * in-memory write lock and counters for the same rows, so the second is refused at start.
 *
 * The lock is an open write transaction on a small SQLite file beside the database
 * (`<database>.lock`): SQLite holds it with an OS file lock, which the kernel drops when the
 * process ends however it ends (SIGKILL, a crash), so a stale lock never blocks a restart.
 * The holder's pid is committed into that file before it takes the lock, for the message.
 */
export interface InstanceLock {
  readonly file: string;
  release(): void;
}

/** Refused: another live process holds the database. */
export class InstanceLockedError extends Error {
  constructor(
    readonly database: string,
    readonly holder: { pid: number; started_at: string } | undefined,
  ) {
    const who = holder ? `another otpgate process (pid ${holder.pid}, started ${holder.started_at})` : 'another otpgate process';
    super(
      `the SQLite database ${database} is in use by ${who}; only one otpgate process may serve a SQLite file. Stop the other process, or give this one its own OTPGATE_DATABASE_URL (several nodes need PostgreSQL: docs/operations.md).`,
    );
    this.name = 'InstanceLockedError';
  }
}

/** The file of a `sqlite:<path>` URL; undefined for PostgreSQL and for `sqlite::memory:`. */
export function sqliteFileOf(databaseUrl: string): string | undefined {
  if (!databaseUrl.startsWith('sqlite:')) return undefined;
  const file = databaseUrl.slice('sqlite:'.length);
  return file === ':memory:' ? undefined : file;
}

/** How long a start waits for another one that is writing its pid at the same moment, ms. */
const BUSY_TIMEOUT_MS = 250;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

function holderOf(db: BetterSqlite3.Database): { pid: number; started_at: string } | undefined {
  try {
    return db.prepare('SELECT pid, started_at FROM holder').get() as { pid: number; started_at: string } | undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock of `databaseFile` for this process, or throws InstanceLockedError. */
export function acquireInstanceLock(databaseFile: string): InstanceLock {
  const file = `${databaseFile}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  const db = new SqliteDatabase(file, { timeout: BUSY_TIMEOUT_MS });
  const refuse = (): never => {
    const holder = holderOf(db);
    db.close();
    throw new InstanceLockedError(databaseFile, holder);
  };
  try {
    // Two starts racing: whichever holds the second transaction wins; the other finds it busy
    // and reads the winner's pid, which the winner committed just before.
    db.exec('BEGIN IMMEDIATE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, started_at TEXT NOT NULL)');
    db.exec('DELETE FROM holder');
    db.prepare('INSERT INTO holder (pid, started_at) VALUES (?, ?)').run(process.pid, new Date().toISOString());
    db.exec('COMMIT');
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    if (isBusy(err)) refuse();
    db.close();
    throw err;
  }
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}
