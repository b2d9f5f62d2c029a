import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { isConnectionLoss, StoreUnavailableError } from './availability.js';
import { statementName } from './prepared.js';

export interface PgPoolGuardOptions {
  /**
   * Client-side deadline of one query, ms. PostgreSQL's own statement_timeout cannot fire on
   * a server that does not run at all (paused, partitioned away): past this the connection is
   * dropped, so that a reply which may never come does not hold the pool slot or the request.
   */
  queryTimeoutMs: number;
  /**
   * With queries waiting and none answered for this long, ms, the database is taken as away
   * (a paused or cut-off server answers nothing, while one slow query leaves the others
   * answering): new requests fail at once instead of each waiting out its deadline.
   */
  stallMs?: number;
  /** Told once when the database stops answering, and once when it answers again. */
  onAvailability?: (available: boolean, detail: string) => void;
}

export interface GuardedPgPool extends PostgresPool {
  /** False from a lost connection until a query succeeds again. */
  readonly available: boolean;
}

const noop = () => undefined;

/** "cached plan must not change result type": a named statement whose result columns changed since it was prepared. */
function isStalePlan(err: unknown): boolean {
  return (err as { code?: unknown })?.code === '0A000' && /cached plan/.test((err as Error).message ?? '');
}

/**
 * The pool Kysely uses on PostgreSQL, around `pg.Pool`:
 *
 * - each query has a client-side deadline (`queryTimeoutMs`); a query past it fails with
 *   StoreUnavailableError and its connection is destroyed, so the pool opens a new one;
 * - a connection lost while checked out between two queries (server restart) emits `error`
 *   with no listener of pg-pool's, which would crash the process: a listener is attached;
 * - once a connection is lost or cannot be made, the store is "away": one request at a time
 *   tries the database (the probe), every other fails at once with StoreUnavailableError
 *   (503) instead of each waiting the connect timeout; the first query that succeeds ends it;
 * - the same when queries are waiting and none has been answered for `stallMs`: a server
 *   that is paused or cut off answers nothing, and its TCP connections look alive.
 */
export function guardPgPool(pool: pg.Pool, options: PgPoolGuardOptions): GuardedPgPool {
  const listened = new WeakSet<pg.PoolClient>();
  let away: { since: number; detail: string } | undefined;
  let probing = false;
  // Bumped at each switch: only connections taken after the last switch may switch it again,
  // so a query sent before an outage and answered during it (or failing after it) does not flap it.
  let epoch = 0;
  const stallMs = options.stallMs ?? 2000;
  // Queries sent and not answered yet; since when some have been; when the last answer came.
  let inFlight = 0;
  let busySince = 0;
  let lastAnswer = 0;
  function sent(): void {
    if (inFlight++ === 0) busySince = performance.now();
  }
  function settled(): void {
    inFlight--;
    lastAnswer = performance.now();
  }

  function lost(err: unknown, born: number): void {
    if (away || born !== epoch) return;
    epoch++;
    const detail = err instanceof Error ? err.message : String(err);
    away = { since: performance.now(), detail };
    options.onAvailability?.(false, detail);
  }
  function answered(born: number): void {
    if (!away || born !== epoch) return;
    epoch++;
    const seconds = ((performance.now() - away.since) / 1000).toFixed(1);
    away = undefined;
    probing = false;
    options.onAvailability?.(true, `after ${seconds} s`);
  }

  function wrap(client: pg.PoolClient, probe: boolean, born: number): PostgresPoolClient {
    let broken: Error | undefined;
    let released = false;
    const query = (sql: string, parameters: ReadonlyArray<unknown>) =>
      new Promise<pg.QueryResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          broken = new StoreUnavailableError(`The database did not answer within ${options.queryTimeoutMs} ms`);
          lost(broken, born);
          reject(broken);
          // pg's own query_timeout leaves the query active on the connection; destroying the
          // socket fails it (and anything queued behind it) and takes the client out of the pool.
          (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        }, options.queryTimeoutMs);
        sent();
        const name = statementName(sql);
        (name ? client.query({ name, text: sql, values: parameters as unknown[] }) : client.query(sql, parameters as unknown[])).then(
          (result) => {
            settled();
            clearTimeout(timer);
            answered(born);
            resolve(result);
          },
          (err: unknown) => {
            settled();
            clearTimeout(timer);
            if (isConnectionLoss(err)) {
              broken ??= err as Error;
              lost(err, born);
            } else if (name && isStalePlan(err)) {
              // The statement's tables changed under it (a migration by another node): the
              // connection keeps failing it, so it is closed and the pool opens a new one.
              broken ??= err as Error;
            }
            reject(err as Error);
          },
        );
      });
    return {
      // Kysely passes a cursor object only for streamed queries, which otpgate does not make.
      query: ((sqlOrCursor: unknown, parameters?: ReadonlyArray<unknown>) =>
        typeof sqlOrCursor === 'string' ? query(sqlOrCursor, parameters ?? []) : client.query(sqlOrCursor as pg.Submittable)) as unknown as PostgresPoolClient['query'],
      release() {
        if (released) return;
        released = true;
        if (probe) probing = false;
        // With an error, pg-pool closes the client instead of keeping it for the next request.
        client.release(broken);
      },
    };
  }

  return {
    get available() {
      return away === undefined;
    },
    async connect() {
      if (!away && inFlight > 0 && performance.now() - Math.max(busySince, lastAnswer) >= stallMs) {
        lost(new StoreUnavailableError(`The database did not answer any query for ${stallMs} ms`), epoch);
      }
      const born = epoch;
      let probe = false;
      if (away) {
        if (probing) throw new StoreUnavailableError(`The database is not answering (${away.detail})`);
        probing = probe = true;
      }
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        if (probe) probing = false;
        if (isConnectionLoss(err)) lost(err, born);
        throw err;
      }
      if (!listened.has(client)) {
        listened.add(client);
        // The next query on it fails ("not queryable") and is reported as such.
        client.on('error', noop);
      }
      return wrap(client, probe, born);
    },
    end: () => pool.end(),
  };
}
