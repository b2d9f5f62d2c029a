import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Server used by the Redis suites; `OTPGATE_TEST_REDIS_URL` overrides it. */
export const testRedisUrl = process.env.OTPGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * True when the tests' Redis answers. In CI (CI=true) Redis is required: .ci/run starts it,
 * and its absence fails the run; elsewhere the Redis suites skip with a message.
 */
export async function redisAvailable(): Promise<boolean> {
  const r = new Redis(testRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1500, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`Redis is required in CI but ${testRedisUrl} does not answer`);
    process.stderr.write(`# skipping the Redis runs: ${testRedisUrl} does not answer (start redis-server to run them)\n`);
    return false;
  } finally {
    r.disconnect();
  }
}

/** A key prefix of its own for one test file, and a client to look inside and clean up. */
export function redisScope(): { prefix: string; client: Redis; cleanup(): Promise<void> } {
  const prefix = `otpgate-test-${randomBytes(5).toString('hex')}:`;
  const client = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
  return {
    prefix,
    client,
    async cleanup() {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    },
  };
}
