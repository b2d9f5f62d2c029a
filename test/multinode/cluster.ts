import { TEST_ADMIN_KEY, withoutFraudGuard } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startLocalGateway, type LocalGateway } from './gateway.js';
import { spawnOtpgate, type OtpgateProcess } from './node-process.js';

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Several otpgate processes on one fresh PostgreSQL database, delivering through one local gateway. */
export interface Cluster {
  dbUrl: string;
  gateway: LocalGateway;
  nodes: OtpgateProcess[];
  /** Starts one more node (same keys, same database). */
  addNode(env?: Record<string, string>): Promise<OtpgateProcess>;
  /** A tenant with an API key, created through `node`. */
  createTenant(node: OtpgateProcess, settings: Record<string, unknown>): Promise<{ tenantId: string; auth: string }>;
  call(node: OtpgateProcess, method: string, path: string, auth: string, body?: unknown): Promise<HttpAnswer>;
  /** Kills every node, stops the gateway, drops the database. */
  close(): Promise<void>;
}

export async function startCluster(opts: { nodes: number; env?: Record<string, string>; gatewayDelayMs?: number }): Promise<Cluster> {
  const db = await createTestDatabase('postgres');
  const gateway = await startLocalGateway({ delayMs: opts.gatewayDelayMs ?? 0 });
  const baseEnv = {
    OTPGATE_DEFAULT_PROVIDER: 'CustomGateway',
    OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify({ uri: gateway.uri, api_key: gateway.apiKey }),
    OTPGATE_PG_POOL_SIZE: '8',
    ...opts.env,
  };
  const nodes: OtpgateProcess[] = [];
  const call: Cluster['call'] = async (node, method, path, auth, body) => {
    const res = await fetch(`${node.url}${path}`, {
      method,
      headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const cluster: Cluster = {
    dbUrl: db.url,
    gateway,
    nodes,
    async addNode(env = {}) {
      const node = await spawnOtpgate(db.url, { ...baseEnv, ...env });
      nodes.push(node);
      return node;
    },
    async createTenant(node, settings) {
      const admin = `Bearer ${TEST_ADMIN_KEY}`;
      const t = await call(node, 'POST', '/v1/tenants', admin, { name: 'Multinode', settings: withoutFraudGuard(settings) });
      if (t.status !== 201) throw new Error(`tenant: ${t.status} ${JSON.stringify(t.body)}`);
      const tenantId = t.body['id'] as string;
      const k = await call(node, 'POST', `/v1/tenants/${tenantId}/api-keys`, admin, { name: 'multinode' });
      if (k.status !== 201) throw new Error(`api key: ${k.status} ${JSON.stringify(k.body)}`);
      return { tenantId, auth: `Bearer ${k.body['key'] as string}` };
    },
    call,
    async close() {
      await Promise.all(nodes.map((n) => n.kill()));
      await gateway.close();
      await db.drop();
    },
  };
  try {
    // One after the other keeps the start-up CPU spike (tsx) smaller; the migration race has its own test.
    for (let i = 0; i < opts.nodes; i++) await cluster.addNode();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** The passcode in a delivered message (the first run of 4–10 digits). */
export function codeIn(message: string): string {
  const m = /\b(\d{4,10})\b/.exec(message);
  if (!m) throw new Error(`no code in "${message}"`);
  return m[1]!;
}

/** Distinct valid US numbers, +1 202 555 xxxx (i < 9000). */
export function phoneNumber(i: number): string {
  return `+1202555${String(1000 + i).slice(-4)}`;
}
