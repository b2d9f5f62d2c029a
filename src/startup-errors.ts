import { ConfigError } from './config/load.js';

/**
 * A failure to open, reach or migrate the database at start-up, with where it was (engine,
 * host, port and database: never credentials). startServer wraps store errors in it so the
 * one-line description can say which database refused.
 */
export class DatabaseStartupError extends Error {
  constructor(
    /** `Store.description`, e.g. `postgres db.internal:5432/otpgate`. */
    readonly target: string,
    override readonly cause: unknown,
  ) {
    super(`${target}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'DatabaseStartupError';
  }
}

const URL_CREDENTIALS = /(postgres(?:ql)?:\/\/)[^@\s/]*@/g;

function scrub(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@').replace(/\s+/g, ' ').trim();
}

/** `postgres db:5432/otpgate` → `PostgreSQL at db:5432 (database "otpgate")`. */
function place(target: string | undefined): string {
  if (!target) return 'the database';
  const m = /^postgres (\S+?)\/(.*)$/.exec(target);
  if (m) return `PostgreSQL at ${m[1]} (database "${decodeURIComponent(m[2] ?? '')}")`;
  if (target.startsWith('sqlite ')) return `the SQLite database ${target.slice('sqlite '.length)}`;
  return target;
}

/** `host:port` of a failed listen (Node puts both on the error), IPv6 in brackets. */
function listenAddress(e: { address?: string; port?: number } | undefined): string {
  const host = e?.address;
  const port = e?.port;
  if (host === undefined) return port === undefined ? 'the address' : `port ${port}`;
  const h = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/**
 * Turns a start-up failure into one clear sentence (no stack trace, no credentials). The
 * PostgreSQL cases follow the SQLSTATE codes of the server's errors.
 * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function describeStartupError(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  const target = err instanceof DatabaseStartupError ? err.target : undefined;
  const cause = err instanceof DatabaseStartupError ? err.cause : err;
  const e = cause as (NodeJS.ErrnoException & { code?: string; hostname?: string; address?: string; port?: number }) | undefined;
  const code = e?.code ?? '';
  const msg = scrub(e?.message ?? String(cause));
  const where = place(target);
  const url = 'OTPGATE_DATABASE_URL';
  switch (code) {
    case 'ECONNREFUSED':
      return `${where} refused the connection (nothing listens there); is PostgreSQL running, and is ${url} right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the database host name${e?.hostname ? ` "${e.hostname}"` : ''} does not resolve; check ${url}.`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return `${where} cannot be reached (${code}); check the host in ${url} and the network between them.`;
    case '28P01':
      return `${where} rejected the password (${msg}); check the credentials in ${url}.`;
    case '28000':
      return `${where} refused the login (${msg}); check the user in ${url} and the server's pg_hba.conf.`;
    case '3D000':
      return `${where}: the database does not exist; create it (e.g. \`createdb\`) or fix the name in ${url}.`;
    case '42501':
      return `${where}: the user may not create the schema (${msg}); grant it CREATE on the schema (\`GRANT CREATE ON SCHEMA public TO …\`; on PostgreSQL 15 and later CREATE on the database is not enough) or run \`otpgate migrate\` as the database owner.`;
    case '53300':
      return `${where} has no free connection slots (${msg}); lower OTPGATE_PG_POOL_SIZE or raise max_connections (docs/operations.md).`;
    case '57P03':
      return `${where} is starting up or shutting down; try again in a moment.`;
    case '57014':
      return `${where} cancelled a start-up statement (${msg}); another node may hold the migration lock, or OTPGATE_PG_STATEMENT_TIMEOUT_MS is too low.`;
    case 'EADDRINUSE':
      return `${listenAddress(e)} is already in use (another process listens there); stop that process, or set OTPGATE_PORT to a free port.`;
    case 'EACCES':
      if (e?.syscall === 'listen' || e?.syscall === 'bind') return `${listenAddress(e)}: permission denied (ports below 1024 need privileges); set OTPGATE_PORT to 1024 or above.`;
      return `permission denied (${msg}); check the data folder's permissions (OTPGATE_DATA_DIR).`;
    case 'EADDRNOTAVAIL':
      return `${listenAddress(e)}: this machine has no such address; check OTPGATE_HOST.`;
    case 'SQLITE_CANTOPEN':
      return `${where} cannot be opened; check ${url} and the folder's permissions.`;
    default:
      break;
  }
  if (target && /timeout|terminated/i.test(msg)) {
    return `${where} did not answer in time (${msg}); check that the host is reachable and that ${url} points at PostgreSQL.`;
  }
  if (target && /ssl/i.test(msg)) return `${where}: TLS failed (${msg}); check sslmode in ${url}.`;
  return target ? `${where}: ${msg}` : msg;
}
