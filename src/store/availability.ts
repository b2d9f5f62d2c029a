/**
 * Which failures of the database mean "the store is away for now" rather than a fault of the
 * request or of otpgate: the HTTP layer answers them 503 `store.unavailable` with Retry-After
 * (src/http/plugins/errors.ts), never a 500. Driver knowledge lives here, beside the drivers.
 */

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 53 (insufficient resources: disk
 * full, out of memory, too many connections), 57P01–57P05 (the server is shutting down,
 * crashed, starting up or idle-timed out the session), 57014 (statement timeout: the server
 * answered, but not in time) and 40001/40P01 are NOT here: a serialisation failure or a
 * deadlock is the caller's to retry inside.
 */
const PG_UNAVAILABLE = /^(08|53)[0-9A-Z]{3}$|^57P0[1-5]$|^57014$/;

/**
 * SQLite result codes (better-sqlite3's `err.code`): the file is locked for longer than
 * busy_timeout, or the disk, the file or its folder fails. Constraint and syntax errors are
 * not unavailability.
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|NOMEM|PROTOCOL)(_|$)/;

/** Socket errors of a connection that cannot be made or was lost. */
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * Errors `pg` and `pg-pool` raise themselves (no SQLSTATE) when a connection cannot be made,
 * is lost, or no pool slot frees up in time; and the query deadline of src/store/pg-pool.ts.
 */
const PG_CLIENT_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client was closed and is not queryable|Client has encountered a connection error and is not queryable|The database did not answer within)/;

/**
 * Whether a store takes its database as away for now (PostgreSQL, src/store/pg-pool.ts), and
 * a way to be told each time it starts to: what waits for the database behind others can then
 * be answered 503 at once.
 */
export interface StoreAvailability {
  readonly away: boolean;
  onAway(listener: (detail: string) => void): void;
}

/** Marks an error that this module recognised, whatever its cause chain (see pg-pool.ts). */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

function matches(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (PG_UNAVAILABLE.test(code) || SQLITE_UNAVAILABLE.test(code) || NET_UNAVAILABLE.has(code))) return true;
  return typeof message === 'string' && PG_CLIENT_MESSAGES.test(message);
}

/**
 * True when `err` (or an error in its `cause` chain, or an AggregateError's member: a
 * connection attempt to each of a host's addresses) says the database cannot be reached or
 * cannot work right now.
 */
export function isStoreUnavailable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (matches(current)) return true;
    if (current instanceof AggregateError && current.errors.some(matches)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether a failure means the connection to PostgreSQL itself is gone or cannot be made (the
 * store is down), as opposed to a server that answered with an error (a statement timeout,
 * a full disk): only the former switches the pool to failing fast (src/store/pg-pool.ts).
 */
export function isConnectionLoss(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (/^08/.test(code) || /^57P0[1-3]$/.test(code) || NET_UNAVAILABLE.has(code))) return true;
  if (err instanceof AggregateError) return err.errors.some(isConnectionLoss);
  return typeof message === 'string' && /^(Connection terminated|Client was closed|Client has encountered a connection error)/.test(message);
}
