import pg from 'pg';
import { adminPgUrl, isPostgresReachable } from '../helpers/databases.js';

/**
 * Whether the PostgreSQL-only suites (test/postgres, test/multinode) run: `false` when the
 * test server answers, else the reason to skip them, also written to stderr. In CI
 * (CI=true) an unreachable server is an error, never a skip.
 */
export async function postgresSkipReason(suite: string): Promise<string | false> {
  if (await isPostgresReachable()) return false;
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI but ${adminPgUrl} does not answer`);
  const u = new URL(adminPgUrl);
  const reason = `PostgreSQL at ${u.host}${u.pathname} does not answer; start it (or set OTPGATE_TEST_PG_URL) to run the ${suite} suite`;
  process.stderr.write(`# skipping: ${reason}\n`);
  return reason;
}

/** Runs `fn` with a short-lived client on `url`. */
export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Polls `check` every `everyMs` until it returns true, or throws after `timeoutMs` saying what it waited for. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
