import { CONFIG_ERROR_EXIT_CODE, ConfigError, loadConfig } from './config/load.js';
import { describeUnknownVariable } from './config/unknown-variables.js';
import { acquireInstanceLock, sqliteFileOf, type InstanceLock } from './instance-lock.js';
import { createLogger } from './observability/logger.js';
import { describeStartupError } from './startup-errors.js';
import { startServer } from './server.js';

/** Process entry: config → db → migrate → http + dispatcher; drains on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`otpgate: ${err.message}\n`);
      process.exit(CONFIG_ERROR_EXIT_CODE);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  // Refused in production by loadConfig; here (development) a warning, before anything else.
  for (const v of config.unknownVariables) logger.warn({ variable: v.name, did_you_mean: v.nearest }, describeUnknownVariable(v));
  let server;
  let lock: InstanceLock | undefined;
  try {
    const sqliteFile = sqliteFileOf(config.databaseUrl);
    if (sqliteFile) lock = acquireInstanceLock(sqliteFile);
    server = await startServer(config, logger);
  } catch (err) {
    lock?.release();
    if (err instanceof ConfigError) {
      // Not reached with a Config from loadConfig, which checks everything createDeps reads.
      process.stderr.write(`otpgate: ${err.message}\n`);
      process.exit(CONFIG_ERROR_EXIT_CODE);
    }
    process.stderr.write(`otpgate: could not start: ${describeStartupError(err)}\n`);
    process.exit(1);
  }
  logger.info({ url: server.url, store: server.deps.store.description, env: config.env, default_provider: server.deps.platform?.kind ?? null, dispatcher: server.dispatchMode }, 'otpgate is listening');
  // With no operator yet, the way to the console is the admin key or a first owner made with the CLI.
  const noOperators = (await server.deps.operators.count().catch(() => 1)) === 0;
  const firstOwner = noOperators ? `  no operator yet: create the first owner with  otpgate operator create --role owner --email you@example.com\n` : '';
  if (config.generatedAdminKey) {
    // Printed to the terminal once at start, on purpose and not through the logger: the
    // operator needs it to sign in. It lives in the data folder; set OTPGATE_ADMIN_KEY to choose one.
    process.stdout.write(
      `\n  otpgate ${config.env} — ${server.url}\n  admin console: ${server.url}/admin   API docs: ${server.url}/docs\n  admin key (from ${config.dataDir}/admin-key): ${config.adminKey}\n${firstOwner}\n`,
    );
  } else if (noOperators) {
    process.stdout.write(`\n${firstOwner}\n`);
  }
  if (noOperators && config.adminKeyDisabled) logger.warn('the admin key is turned off and there is no operator: create an owner with `otpgate operator create --role owner --email …`');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    server
      .stop()
      .then(() => {
        lock?.release();
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err_message: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
