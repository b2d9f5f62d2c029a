import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelayMs, type BackoffPolicy } from '../domain/retry-policy.js';

/** The PostgreSQL channel on which nodes tell each other that the outbox has new work. */
export const OUTBOX_CHANNEL = 'otpgate_outbox';

export interface OutboxWakeupOptions {
  /** Opens a new, unconnected client outside the pool (`Store.newPgClient`). */
  newClient: () => pg.Client;
  logger: Logger;
  /**
   * Called when another node enqueued work, and once after each reconnect (notifications sent
   * while the listener was away are lost; the dispatcher looks at the outbox instead).
   */
  onWake: () => void;
  /**
   * Sends a NOTIFY through another connection (the pool) while the LISTEN connection is down.
   * Without it, notifications are dropped meanwhile and the other nodes find the work by polling.
   */
  fallbackNotify?: (channel: string, payload: string) => Promise<void>;
  /** Default `otpgate_outbox`. */
  channel?: string;
  /** At most one NOTIFY per this many ms per node (the first of a burst goes at once). Default 5. */
  coalesceMs?: number;
  /** Reconnect delays of the LISTEN connection: capped exponential with jitter. Default 100 ms … 10 s. */
  reconnect?: Pick<BackoffPolicy, 'baseMs' | 'capMs'>;
  /** Period of a `select 1` on the LISTEN connection, to find a silently dead one, ms. Default 30 s; 0 = off. */
  heartbeatMs?: number;
}

/** Counters for tests and metrics. */
export interface OutboxWakeupStats {
  /** NOTIFYs this node sent. */
  sent: number;
  /** Notifications from other nodes that woke this one. */
  received: number;
  /** Successful connections after the first. */
  reconnects: number;
}

export interface OutboxWakeup {
  /** Sent as the NOTIFY payload, so a node ignores its own notifications. */
  readonly nodeId: string;
  /** True while the LISTEN connection is up. */
  readonly listening: boolean;
  readonly stats: Readonly<OutboxWakeupStats>;
  /** Connects and LISTENs. Resolves after the first attempt whatever its outcome (retries go on in the background). */
  start(): Promise<void>;
  /** Tells the other nodes there is new work (coalesced; never throws, never waits). */
  notify(): void;
  /** Stops listening and closes the connection. */
  stop(): Promise<void>;
}

/**
 * LISTEN/NOTIFY between otpgate nodes sharing one PostgreSQL (DESIGN.md "Storage and scale").
 *
 * One dedicated connection per node, outside the pool, LISTENs on the channel; `notify()`
 * sends `NOTIFY channel, '<nodeId>'` on the same connection. Delivery is best effort: when the
 * connection drops it is reopened with capped backoff, and until then the dispatchers simply
 * keep polling (every `pollMs`), so a lost notification only delays a message, never loses it.
 */
export function createOutboxWakeup(options: OutboxWakeupOptions): OutboxWakeup {
  const { logger } = options;
  const channel = options.channel ?? OUTBOX_CHANNEL;
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid LISTEN channel name: ${channel}`);
  const coalesceMs = options.coalesceMs ?? 5;
  const backoff: BackoffPolicy = { baseMs: 100, capMs: 10_000, maxAttempts: Number.POSITIVE_INFINITY, ...options.reconnect };
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const nodeId = `node_${randomBytes(6).toString('hex')}`;
  const stats: OutboxWakeupStats = { sent: 0, received: 0, reconnects: 0 };

  let stopped = false;
  let client: pg.Client | undefined;
  let listening = false;
  /** Reconnect attempts since the connection was last up (drives the backoff). */
  let failures = 0;
  let failedConnects = 0;
  let everConnected = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let throttleTimer: NodeJS.Timeout | undefined;
  let pending = false;
  // The LISTEN connection's heartbeat and NOTIFYs, one at a time: pg deprecates a query sent
  // while another is running on the same client (and drops queueing them in pg 9).
  let last: Promise<unknown> = Promise.resolve();
  let beating = false;
  function run(c: pg.Client, sql: string): Promise<unknown> {
    const p = last.then(() => c.query(sql));
    last = p.catch(() => undefined);
    return p;
  }

  function onNotification(n: pg.Notification): void {
    if (n.channel !== channel || n.payload === nodeId) return;
    stats.received += 1;
    options.onWake();
  }

  /** Drops a client (after an error, an end or a failed heartbeat) and schedules a reconnect. */
  function lose(c: pg.Client, reason: string): void {
    if (client !== c) return;
    client = undefined;
    const wasListening = listening;
    listening = false;
    if (heartbeatTimer) clearInterval(heartbeatTimer);
    heartbeatTimer = undefined;
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
    if (stopped) return;
    if (wasListening) logger.warn({ reason }, 'lost the LISTEN connection to PostgreSQL; dispatchers poll until it is back');
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (stopped || reconnectTimer) return;
    failures += 1;
    const delay = backoffDelayMs(failures, backoff);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, delay);
    reconnectTimer.unref();
  }

  async function connect(): Promise<void> {
    if (stopped || client) return;
    const c = options.newClient();
    client = c;
    last = Promise.resolve();
    // Registered before connect(): an error event without a listener would crash the process.
    c.on('error', (err: Error) => lose(c, err.message));
    c.on('end', () => lose(c, 'connection ended'));
    c.on('notification', onNotification);
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      failedConnects += 1;
      if (!stopped && (failedConnects === 1 || failedConnects % 10 === 0)) {
        logger.warn({ err_message: (err as Error).message, attempts: failedConnects }, 'could not LISTEN on PostgreSQL; retrying, dispatchers poll meanwhile');
      }
      lose(c, (err as Error).message);
      return;
    }
    if (client !== c || stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    listening = true;
    failures = 0;
    failedConnects = 0;
    if (everConnected) {
      stats.reconnects += 1;
      logger.info({ channel }, 'LISTEN connection to PostgreSQL restored');
      options.onWake();
    }
    everConnected = true;
    if (heartbeatMs > 0) {
      heartbeatTimer = setInterval(() => void heartbeat(c), heartbeatMs);
      heartbeatTimer.unref();
    }
  }

  async function heartbeat(c: pg.Client): Promise<void> {
    // One still waiting for its answer times out on its own.
    if (beating) return;
    beating = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('heartbeat timed out')), Math.max(1000, heartbeatMs / 2));
    });
    try {
      await Promise.race([run(c, 'select 1'), timeout]);
    } catch (err) {
      lose(c, (err as Error).message);
    } finally {
      clearTimeout(timer);
      beating = false;
    }
  }

  function send(): void {
    stats.sent += 1;
    const c = listening ? client : undefined;
    const sql = `NOTIFY ${channel}, '${nodeId}'`;
    const done = c ? run(c, sql).then(() => undefined) : options.fallbackNotify?.(channel, nodeId);
    done?.catch((err: unknown) => logger.debug({ err_message: (err as Error).message }, 'NOTIFY failed; other nodes will find the work by polling'));
  }

  function flush(): void {
    throttleTimer = undefined;
    if (!pending || stopped) return;
    pending = false;
    send();
    throttleTimer = setTimeout(flush, coalesceMs);
    throttleTimer.unref();
  }

  return {
    nodeId,
    get listening() {
      return listening;
    },
    stats,
    start: () => connect(),
    notify() {
      if (stopped) return;
      if (throttleTimer) {
        pending = true;
        return;
      }
      send();
      throttleTimer = setTimeout(flush, coalesceMs);
      throttleTimer.unref();
    },
    async stop() {
      stopped = true;
      for (const t of [reconnectTimer, throttleTimer]) if (t) clearTimeout(t);
      if (heartbeatTimer) clearInterval(heartbeatTimer);
      const c = client;
      client = undefined;
      listening = false;
      if (c) {
        c.removeAllListeners('notification');
        await c.end().catch(() => undefined);
      }
    },
  };
}
