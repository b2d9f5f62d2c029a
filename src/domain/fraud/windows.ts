/**
 * Counters are kept in hour buckets (the bucket's start, ms). A sliding window of `hours`
 * sums the buckets wholly inside it and the share of the oldest one that still overlaps it
 * (the sliding-window-counter approximation): no row per event, and no edge where a whole
 * hour's traffic disappears at once.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export function bucketOf(at: number): number {
  return Math.floor(at / HOUR_MS) * HOUR_MS;
}

export interface BucketCounts {
  bucket: number;
  sent: number;
  verified: number;
}

/** Sums `rows` over the sliding window of `hours` ending at `now`. */
export function slidingSum(rows: readonly BucketCounts[], now: number, hours: number): { sent: number; verified: number } {
  const current = bucketOf(now);
  const oldest = current - hours * HOUR_MS;
  // Share of the oldest bucket still inside the window: all of it at the start of the current hour.
  const weight = 1 - (now - current) / HOUR_MS;
  let sent = 0;
  let verified = 0;
  for (const r of rows) {
    if (r.bucket > oldest && r.bucket <= current) {
      sent += r.sent;
      verified += r.verified;
    } else if (r.bucket === oldest) {
      sent += r.sent * weight;
      verified += r.verified * weight;
    }
  }
  return { sent, verified };
}

/** The most codes verified on one UTC day among the `days` days before today's. */
export function bestVerifiedDay(rows: readonly BucketCounts[], now: number, days: number): number {
  const today = Math.floor(now / DAY_MS);
  const byDay = new Map<number, number>();
  for (const r of rows) {
    const day = Math.floor(r.bucket / DAY_MS);
    if (day < today && day >= today - days) byDay.set(day, (byDay.get(day) ?? 0) + r.verified);
  }
  let best = 0;
  for (const v of byDay.values()) best = Math.max(best, v);
  return best;
}
