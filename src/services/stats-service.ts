import { attemptLatencyByBucket, challengeCountsByBucket, messageCountsByBucket, STATS_CHUNK_ROWS } from '../store/queries/stats.js';
import { idFloorSince } from '../domain/ids.js';
import type { ServiceContext } from './context.js';

export interface StatsBucket {
  start: string;
  /** Messages enqueued (passcodes and events). */
  sends: number;
  /** Of those, accepted by a provider (sent, delivered or undelivered). */
  sent: number;
  /**
   * Of the accepted, those whose provider was asked for a delivery receipt: its kind takes
   * receipts and the server has a public URL for them. The delivery rate is counted over these.
   */
  receipts_expected: number;
  /** Accepted, then confirmed delivered by a receipt. */
  delivered: number;
  /** Accepted, then reported not delivered by a receipt. */
  undelivered: number;
  /** Never accepted: every attempt failed, or the code expired first. */
  failed: number;
  /** Challenges created, and how many of them were verified (verify conversion). */
  challenges: number;
  verified: number;
  attempts: number;
  failed_attempts: number;
  avg_provider_latency_ms: number | null;
  latency_by_provider: Record<string, number>;
}

export const statsWindows = { '1h': { span: 3_600_000, bucket: 300_000 }, '24h': { span: 86_400_000, bucket: 3_600_000 }, '7d': { span: 604_800_000, bucket: 21_600_000 } } as const;
export type StatsWindow = keyof typeof statsWindows;

export function createStatsService(ctx: ServiceContext, options: { receiptKinds: ReadonlySet<string> }) {
  return {
    /** Sends, delivery, verify conversion and provider latency per time bucket, oldest first. */
    async overview(tenantId: string, window: StatsWindow): Promise<{ window: StatsWindow; bucket_seconds: number; buckets: StatsBucket[] }> {
      const { span, bucket } = statsWindows[window];
      const now = ctx.clock.now();
      const first = Math.floor((now - span) / bucket) + 1;
      const since = first * bucket;
      const counts = [
        (chunk?: number) => messageCountsByBucket(ctx.store.db, tenantId, since, bucket, idFloorSince('msg', since, now), chunk),
        (chunk?: number) => challengeCountsByBucket(ctx.store.db, tenantId, since, bucket, idFloorSince('chl', since, now), chunk),
        (chunk?: number) => attemptLatencyByBucket(ctx.store.db, tenantId, since, bucket, chunk),
      ] as const;
      // On SQLite one after another, a chunk at a time: three at once would put three chunks
      // between two turns of the event loop.
      const [msgs, chls, atts] = ctx.store.capabilities.blockingReads
        ? [await counts[0](STATS_CHUNK_ROWS), await counts[1](STATS_CHUNK_ROWS), await counts[2](STATS_CHUNK_ROWS)]
        : await Promise.all([counts[0](), counts[1](), counts[2]()]);
      const buckets: StatsBucket[] = [];
      const last = Math.floor(now / bucket);
      const index = new Map<number, StatsBucket>();
      for (let b = first; b <= last; b++) {
        const sb: StatsBucket = { start: new Date(b * bucket).toISOString(), sends: 0, sent: 0, receipts_expected: 0, delivered: 0, undelivered: 0, failed: 0, challenges: 0, verified: 0, attempts: 0, failed_attempts: 0, avg_provider_latency_ms: null, latency_by_provider: {} };
        buckets.push(sb);
        index.set(b, sb);
      }
      for (const r of msgs) {
        const sb = index.get(Number(r.bucket));
        if (!sb) continue;
        const n = Number(r.n);
        sb.sends += n;
        if ((r.status === 'sent' || r.status === 'delivered' || r.status === 'undelivered') && r.provider !== null && options.receiptKinds.has(r.provider)) sb.receipts_expected += n;
        if (r.status === 'sent') sb.sent += n;
        if (r.status === 'delivered') {
          sb.sent += n;
          sb.delivered += n;
        }
        if (r.status === 'undelivered') {
          sb.sent += n;
          sb.undelivered += n;
        }
        if (r.status === 'failed') sb.failed += n;
      }
      for (const r of chls) {
        const sb = index.get(Number(r.bucket));
        if (!sb) continue;
        sb.challenges += Number(r.n);
        sb.verified += Number(r.verified);
      }
      // A bucket's attempts may come in more than one row per provider (chunks): latency is
      // added up first and averaged at the end.
      const latency = new Map<StatsBucket, Map<string, { total: number; n: number }>>();
      for (const r of atts) {
        const sb = index.get(Number(r.bucket));
        if (!sb) continue;
        const n = Number(r.n);
        sb.attempts += n;
        sb.failed_attempts += Number(r.failed);
        const byProvider = latency.get(sb) ?? new Map<string, { total: number; n: number }>();
        const w = byProvider.get(r.provider) ?? { total: 0, n: 0 };
        w.total += Number(r.total_ms);
        w.n += n;
        byProvider.set(r.provider, w);
        latency.set(sb, byProvider);
      }
      for (const [sb, byProvider] of latency) {
        let total = 0;
        let n = 0;
        for (const [provider, w] of byProvider) {
          sb.latency_by_provider[provider] = Math.round(w.total / w.n);
          total += w.total;
          n += w.n;
        }
        sb.avg_provider_latency_ms = n > 0 ? Math.round(total / n) : null;
      }
      return { window, bucket_seconds: bucket / 1000, buckets };
    },
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
