import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config/load.js';
import { createDeps, type Deps, type DepsOverrides } from './deps.js';
import { createOutboxWakeup, type OutboxWakeup } from './dispatcher/wakeup.js';
import { DatabaseStartupError } from './startup-errors.js';
import { migrateToLatest } from './store/db.js';
import { notifyChannel } from './store/queries/messages.js';

/** A running otpgate: HTTP app, dispatcher and store, with an orderly stop. */
export interface RunningServer {
  app: FastifyInstance;
  deps: Deps;
  /** `http://host:port` it listens on. */
  url: string;
  /** LISTEN/NOTIFY between nodes, when the store supports it (PostgreSQL). */
  wakeup: OutboxWakeup | undefined;
  /** Stops taking requests, drains in-flight sends (up to the grace period), closes the store. */
  stop(): Promise<void>;
}

/**
 * With a store that several nodes share, a local enqueue also NOTIFYs the other nodes, and
 * their NOTIFYs wake this node's dispatcher.
 */
function wireWakeup(deps: Deps, logger: Logger): OutboxWakeup | undefined {
  const { store, dispatcher } = deps;
  if (!store.capabilities.listenNotify || !store.newPgClient) return undefined;
  const wakeup = createOutboxWakeup({
    newClient: store.newPgClient,
    logger: logger.child({ component: 'wakeup' }),
    onWake: () => dispatcher.wake(),
    fallbackNotify: (channel, payload) => notifyChannel(store.db, channel, payload),
  });
  deps.setWake(() => {
    dispatcher.wake();
    wakeup.notify();
  });
  return wakeup;
}

/**
 * Every node sharing a database must hold the same secret key (sealed bodies and provider
 * secrets written by one node are opened by another) and the same admin key. A key generated
 * into this node's data folder is almost certainly not shared: say so loudly.
 */
function warnAboutNodeLocalKeys(deps: Deps, config: Config, logger: Logger): void {
  if (!deps.store.capabilities.multiNode) return;
  const secretFile = join(config.dataDir, 'secret-key');
  const generated: string[] = [];
  if (existsSync(secretFile) && readFileSync(secretFile, 'utf8').trim() === config.secretKey) generated.push('OTPGATE_SECRET_KEY');
  if (config.generatedAdminKey) generated.push('OTPGATE_ADMIN_KEY');
  if (generated.length === 0) return;
  logger.warn(
    { generated, data_dir: config.dataDir },
    `${generated.join(' and ')} came from this node's data folder; every node sharing this database needs the same value: set ${generated.join(' and ')} on all of them (docs/operations.md)`,
  );
}

/** Migrates, builds and starts everything; used by main.ts, the CLI and the tests. */
export async function startServer(config: Config, logger: Logger, overrides: DepsOverrides = {}): Promise<RunningServer> {
  const deps = createDeps(config, logger, overrides);
  let wakeup: OutboxWakeup | undefined;
  let app: FastifyInstance | undefined;
  try {
    await migrateToLatest(deps.store).catch((err: unknown) => {
      throw new DatabaseStartupError(deps.store.description, err);
    });
    wakeup = wireWakeup(deps, logger);
    await wakeup?.start();
    app = await buildApp(deps);
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app?.close().catch(() => undefined);
    await wakeup?.stop();
    await deps.store.close().catch(() => undefined);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  deps.dispatcher.start();
  warnAboutNodeLocalKeys(deps, config, logger);
  let stopped = false;
  const running: RunningServer = {
    app,
    deps,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    wakeup,
    async stop() {
      if (stopped) return;
      stopped = true;
      await running.app.close();
      await deps.dispatcher.stop(config.shutdownGraceMs);
      deps.drain.abort();
      await wakeup?.stop();
      await deps.store.close();
    },
  };
  return running;
}
