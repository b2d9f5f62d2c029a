import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * better-sqlite3, in the build that is safe on the running Node.
 *
 * - 13.x is a Node-API 10 addon. Node 24.19+ added an environment cleanup hook to the
 *   header-only `node::ObjectWrap`, and 12.x (built on that class) aborts the process when the
 *   garbage collector frees a statement outside a JavaScript context
 *   (`Assertion failed: (env) != nullptr`). 13.x no longer uses `ObjectWrap`.
 * - Node 20 only has Node-API 9, and 13.x crashes on load there, so it gets 12.x, installed
 *   under the alias `better-sqlite3-napi9`.
 *
 * Both versions have the same JavaScript API (the one `@types/better-sqlite3` describes).
 */
const require = createRequire(import.meta.url);

export const sqliteDriverPackage = Number(process.versions.napi) >= 10 ? 'better-sqlite3' : 'better-sqlite3-napi9';

const SqliteDatabase = require(sqliteDriverPackage) as typeof BetterSqlite3;

export default SqliteDatabase;
