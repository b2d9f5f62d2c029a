import { createHash } from 'node:crypto';
import { CompiledQuery, PostgresAdapter, sql, type Compilable, type DialectAdapter, type QueryResult, type RawBuilder } from 'kysely';
import type SqliteDatabase from 'better-sqlite3';
import type { Executor } from './db.js';

/**
 * Queries built once and re-run with new values. Building and compiling a Kysely query costs
 * tens of microseconds (its builders are immutable), several times more than SQLite takes to
 * run it; the send and dispatch paths run about a dozen queries each. A prepared query is
 * built with named placeholders (`p('phone')`), compiled once per dialect, and executed with
 * `db.executeQuery`, so the SQL still comes from the one query layer.
 *
 * Placeholders may stand only where Kysely turns a value into a bound parameter (comparisons,
 * `set`, `values`, `limit`), never in identifiers or `in` lists.
 */
const MARK = '\u0000otpgate-param:';

/** A named placeholder, typed as whatever the builder expects there. */
export function p<T = never>(name: string): T {
  return `${MARK}${name}` as unknown as T;
}

/**
 * A LIMIT for a prepared query: a literal when it never changes, else the named value behind a
 * cast. SQLite re-prepares a statement whose LIMIT is a bare bound parameter every time a new
 * value is bound (the planner looks at the value), which cost 17–35 µs per run here — more
 * than the query itself; behind `cast(… as integer)` the value is opaque to the planner.
 */
export function limitOf(value: number | string): RawBuilder<number> {
  return typeof value === 'number' ? sql.lit(value) : sql<number>`cast(${p(value)} as integer)`;
}

type Compiled = { base: CompiledQuery; slots: Array<string | null> };

/**
 * PostgreSQL statements prepared by name on each connection (pg-pool.ts), by their text. Sent
 * unnamed, a statement is parsed, analysed and planned again on every run: 17 % of the
 * database's CPU in the send bench. Only the fixed texts of prepared queries are named, so a
 * connection holds a bounded set of them.
 */
const statementNames = new Map<string, string>();

/** The name `text` is prepared under on a PostgreSQL connection, if it is one of the named statements. */
export function statementName(text: string): string | undefined {
  return statementNames.get(text);
}

function nameStatement(text: string): void {
  if (!statementNames.has(text)) statementNames.set(text, `og_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`);
}

/**
 * A statement written in PostgreSQL's own SQL with positional parameters (`$1`), such as a
 * call of one of otpgate's functions, prepared by name like the prepared queries.
 */
export function pgStatement<R>(text: string): { execute(db: Executor, parameters: readonly unknown[]): Promise<QueryResult<R>> } {
  nameStatement(text);
  return { execute: (db, parameters) => db.executeQuery<R>(CompiledQuery.raw(text, [...parameters]) as CompiledQuery<R>) };
}

/**
 * SQLite connections by the dialect adapter of their Kysely instance. Inside a transaction the
 * connection is already held by the caller (Kysely's driver lock), so a prepared query runs
 * synchronously on it, without the driver's per-query promise and lock round trip. Outside a
 * transaction the query goes through Kysely as usual, so it never slips into someone else's
 * open transaction.
 */
const syncSqlite = new WeakMap<DialectAdapter, SqliteDatabase.Database>();

export function registerSyncSqlite(db: { getExecutor(): { adapter: DialectAdapter } }, connection: SqliteDatabase.Database): void {
  syncSqlite.set(db.getExecutor().adapter, connection);
}

function runSync<R>(connection: SqliteDatabase.Database, sql: string, parameters: unknown[]): QueryResult<R> {
  const stmt = connection.prepare(sql);
  if (stmt.reader) return { rows: stmt.all(parameters) as R[] };
  const { changes, lastInsertRowid } = stmt.run(parameters);
  return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
}

export interface PreparedQuery<R> {
  execute(db: Executor, values: Record<string, unknown>): Promise<QueryResult<R>>;
}

export function prepared<R>(build: (db: Executor) => Compilable<R>): PreparedQuery<R> {
  const byAdapter = new WeakMap<DialectAdapter, Compiled>();
  return {
    execute(db, values) {
      const adapter = db.getExecutor().adapter;
      let c = byAdapter.get(adapter);
      if (!c) {
        const base = build(db).compile();
        const slots = base.parameters.map((v) => (typeof v === 'string' && v.startsWith(MARK) ? v.slice(MARK.length) : null));
        c = { base, slots };
        byAdapter.set(adapter, c);
        if (adapter instanceof PostgresAdapter) nameStatement(base.sql);
      }
      const parameters = c.slots.map((name, i) => {
        if (name === null) return c.base.parameters[i];
        const v = values[name];
        if (v === undefined) throw new Error(`prepared query: no value for ${name}`);
        return v;
      });
      const connection = db.isTransaction ? syncSqlite.get(adapter) : undefined;
      if (connection) {
        try {
          return Promise.resolve(runSync<R>(connection, c.base.sql, parameters));
        } catch (err) {
          return Promise.reject(err);
        }
      }
      return db.executeQuery<R>({ ...c.base, parameters } as CompiledQuery<R>);
    },
  };
}
