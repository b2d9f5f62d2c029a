import { inRange, nthInRange, randomMobile, randomRange } from './numbers.js';
import { createRng, type Rng } from './rng.js';
import { CAMPAIGN_DAY, CAMPAIGN_FACTOR, DAY, HOUR, hourlyCurve, noHistoryExpensive, SIM_START, tailExpensive, WARMUP_DAYS, type LegitPlan } from './world.js';

/**
 * The attacks, each run on its own on top of the same legitimate traffic. An attacker sends on
 * a fixed schedule (whether or not it is refused) and adapts: when a prefix is blocked it moves
 * to another prefix, when its IP is blocked or capped to another IP, when its country is blocked
 * to another country of its list — as far as its resources allow. It reads `blocked_until`
 * from the 403 and avoids that key until then.
 */

export const scenarioIds = ['none', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
export type ScenarioId = (typeof scenarioIds)[number];
export type AttackId = Exclude<ScenarioId, 'none'>;

export interface AttackSpec {
  id: AttackId;
  title: string;
  /** How the attack is built, for the report. */
  summary: string;
  /** Which target applies: at most 50 accepted (`count`) or at least 80 % of the cost refused (`share`). */
  target: 'count' | 'share';
  /** When it starts (ms) and its attempt times. */
  schedule(rng: Rng, plan: LegitPlan): { start: number; times: number[] };
  /** The countries it works through (in order), or spreads over at once (`spread`, by weight). */
  countries(rng: Rng, plan: LegitPlan): { codes: string[]; weights?: number[]; spread: boolean };
  ips: { mode: 'rotating' } | { mode: 'pool'; size: number } | { mode: 'cgnat_mix' };
  numbers: 'sequential' | 'ranges' | 'victim';
  /** Share of its accepted codes it verifies (it owns some of the numbers). */
  verifyShare: number;
}

/** A scored day for the attack to start on, avoiding the campaign day, at a random time. */
function scoredStart(rng: Rng, lastDay: number): number {
  let day = rng.int(WARMUP_DAYS + 1, lastDay);
  while (day === CAMPAIGN_DAY) day = rng.int(WARMUP_DAYS + 1, lastDay);
  return SIM_START + day * DAY + Math.floor(rng.next() * DAY);
}

/** Attempts every `everyMs` on average (Poisson arrivals) for `durationMs`. */
function steady(rng: Rng, start: number, durationMs: number, everyMs: number): number[] {
  const out: number[] = [];
  for (let t = start; t < start + durationMs; t += Math.max(200, Math.round(-Math.log(1 - rng.next()) * everyMs))) out.push(t);
  return out;
}

export const attacks: Record<AttackId, AttackSpec> = {
  a: {
    id: 'a',
    title: 'burst, sequential numbers, one expensive country, one IP',
    summary: 'one attempt every 3 s for 2 h to consecutive numbers of one range of an expensive country without users; one IP at a time (3 in reserve); a second such country in reserve',
    target: 'count',
    schedule(rng) {
      const start = scoredStart(rng, 28);
      return { start, times: steady(rng, start, 2 * HOUR, 3000) };
    },
    countries: (rng) => ({ codes: twoOf(rng, noHistoryExpensive), spread: false }),
    ips: { mode: 'pool', size: 4 },
    numbers: 'sequential',
    verifyShare: 0,
  },
  b: {
    id: 'b',
    title: 'rotating IPs against one country’s ranges',
    summary: 'one attempt every 12 s for 6 h to random numbers of 10,000-number ranges of one expensive country with a few users; a fresh IP for every attempt',
    target: 'count',
    schedule(rng) {
      const start = scoredStart(rng, 28);
      return { start, times: steady(rng, start, 6 * HOUR, 12_000) };
    },
    countries: (rng) => ({ codes: [rng.pick(tailExpensive)], spread: false }),
    ips: { mode: 'rotating' },
    numbers: 'ranges',
    verifyShare: 0,
  },
  c: {
    id: 'c',
    title: 'slow trickle across many countries',
    summary: 'one attempt every 4 min for 5 days, spread over 30 expensive countries without users, random numbers of their ranges, a fresh IP each time',
    target: 'share',
    schedule(rng) {
      const start = scoredStart(rng, 23);
      return { start, times: steady(rng, start, 5 * DAY, 4 * 60_000) };
    },
    countries: (rng) => ({ codes: shuffled(rng, noHistoryExpensive).slice(0, 30), spread: true }),
    ips: { mode: 'rotating' },
    numbers: 'ranges',
    verifyShare: 0,
  },
  d: {
    id: 'd',
    title: 'attack inside a legitimate spike',
    summary: 'during the campaign day, a quarter as many attempts again as the campaign brings to the home country and its neighbours, following its curve; random numbers of ranges; IPs half from the carriers’ shared addresses, half fresh',
    target: 'share',
    schedule(rng, plan) {
      const start = SIM_START + CAMPAIGN_DAY * DAY;
      const shares = plan.countries.filter((c) => c.role === 'home' || c.role === 'neighbour').reduce((s, c) => s + c.share, 0);
      const n = rng.poisson(0.25 * CAMPAIGN_FACTOR * plan.volume * shares);
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const hour = rng.chance(0.45) ? 10 + rng.int(0, 3) : rng.weighted(hourlyCurve);
        times.push(start + hour * HOUR + Math.floor(rng.next() * HOUR));
      }
      return { start, times: times.sort((x, y) => x - y) };
    },
    countries: (_rng, plan) => {
      const cs = plan.countries.filter((c) => c.role === 'home' || c.role === 'neighbour');
      return { codes: cs.map((c) => c.code), weights: cs.map((c) => c.share), spread: true };
    },
    ips: { mode: 'cgnat_mix' },
    numbers: 'ranges',
    verifyShare: 0,
  },
  e: {
    id: 'e',
    title: 'attack on the home country',
    summary: 'one attempt every 20 s for 6 h to random numbers of 10,000-number ranges of the home country; a fresh IP for every attempt',
    target: 'count',
    schedule(rng) {
      const start = scoredStart(rng, 28);
      return { start, times: steady(rng, start, 6 * HOUR, 20_000) };
    },
    countries: () => ({ codes: ['GB'], spread: false }),
    ips: { mode: 'rotating' },
    numbers: 'ranges',
    verifyShare: 0,
  },
  f: {
    id: 'f',
    title: 'attacker verifying 30 % of its codes',
    summary: 'one attempt every 30 s for 24 h to random numbers of ranges of one expensive country with a few users; verifies 30 % of the codes it gets; a fresh IP for every attempt',
    target: 'share',
    schedule(rng) {
      const start = scoredStart(rng, 27);
      return { start, times: steady(rng, start, DAY, 30_000) };
    },
    countries: (rng) => ({ codes: [rng.pick(tailExpensive)], spread: false }),
    ips: { mode: 'rotating' },
    numbers: 'ranges',
    verifyShare: 0.3,
  },
  g: {
    id: 'g',
    title: 'country with no history',
    summary: 'one attempt every 12 s for 6 h to random numbers of ranges of an expensive country without users (a second one in reserve); a fresh IP for every attempt',
    target: 'count',
    schedule(rng) {
      const start = scoredStart(rng, 28);
      return { start, times: steady(rng, start, 6 * HOUR, 12_000) };
    },
    countries: (rng) => ({ codes: twoOf(rng, noHistoryExpensive), spread: false }),
    ips: { mode: 'rotating' },
    numbers: 'ranges',
    verifyShare: 0,
  },
  h: {
    id: 'h',
    title: 'bombing one victim’s number',
    summary: 'one attempt every 40 s for 12 h to one home-country number; a fresh IP for every attempt',
    target: 'count',
    schedule(rng) {
      const start = scoredStart(rng, 28);
      return { start, times: steady(rng, start, 12 * HOUR, 40_000) };
    },
    countries: () => ({ codes: ['GB'], spread: false }),
    ips: { mode: 'rotating' },
    numbers: 'victim',
    verifyShare: 0,
  },
};

function shuffled<T>(rng: Rng, list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function twoOf(rng: Rng, list: readonly string[]): string[] {
  const first = rng.pick(list);
  let second = rng.pick(list);
  while (second === first) second = rng.pick(list);
  return [first, second];
}

/** What a refusal blocked, as the attacker reads it from the answer. */
export type BlockedKind = 'prefix' | 'ip' | 'country' | 'phone' | 'other';

export function kindOfRule(rule: string | undefined): BlockedKind {
  if (rule === 'prefix_hour' || rule === 'prefix_velocity') return 'prefix';
  if (rule === 'ip_day' || rule === 'ip_countries') return 'ip';
  if (rule === 'country_day' || rule === 'country_hour' || rule === 'country_policy') return 'country';
  return 'other';
}

export interface Attempt {
  country: string;
  phone: string;
  ip: string;
}

/** Digits of a range: 10,000 numbers. */
const RANGE_DIGITS = 4;
/**
 * Ranges an attacker owns per country: pumpers are paid for traffic to the ranges of the
 * carriers they deal with (international premium rate numbers), not to any number.
 */
export const RANGES_PER_COUNTRY = 3;

/**
 * The attacker of one run: picks each attempt's country, number and IP, and learns from each
 * answer. `prefixDigits` is the guard's prefix length (the attacker is assumed to find it).
 */
export function createAttacker(spec: AttackSpec, seed: number, plan: LegitPlan, prefixDigits: number) {
  const rng = createRng(seed, `attack-${spec.id}`);
  const { start, times } = spec.schedule(rng, plan);
  const { codes, weights, spread } = spec.countries(rng, plan);
  const blockedUntil = new Map<string, number>();
  const isBlocked = (key: string, now: number) => (blockedUntil.get(key) ?? 0) > now;
  let countryIndex = 0;
  let ipSeq = 0;
  const ipPool = spec.ips.mode === 'pool' ? Array.from({ length: spec.ips.size }, () => freshIp()) : [];
  let ipIndex = 0;
  // Per country: the ranges it owns and, for sequential pumping, the position in each.
  const owned = new Map<string, Array<{ range: string; next: number }>>();
  let rangeIndex = 0;
  const victim = randomMobile(plan.plans.get(codes[0]!)!, rng);

  function freshIp(): string {
    ipSeq++;
    return `45.${(seed * 7 + ipSeq) % 200}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
  }

  function rangesOf(country: string): Array<{ range: string; next: number }> {
    let r = owned.get(country);
    if (!r) {
      r = Array.from({ length: RANGES_PER_COUNTRY }, () => ({ range: randomRange(plan.plans.get(country)!, rng, RANGE_DIGITS), next: rng.int(0, 4000) }));
      owned.set(country, r);
    }
    return r;
  }

  function pickCountry(now: number): string {
    if (spread) {
      const open = codes.map((c, i) => (isBlocked(`c:${c}`, now) ? 0 : (weights?.[i] ?? 1)));
      const all = open.every((w) => w === 0) ? codes.map((_, i) => weights?.[i] ?? 1) : open;
      return codes[rng.weighted(all)]!;
    }
    // Works through its list; back to the earliest unblocked one when all were blocked.
    for (let k = 0; k < codes.length; k++) {
      const c = codes[(countryIndex + k) % codes.length]!;
      if (!isBlocked(`c:${c}`, now)) {
        countryIndex = (countryIndex + k) % codes.length;
        return c;
      }
    }
    return codes[countryIndex]!;
  }

  function pickNumber(country: string, now: number): string {
    if (spec.numbers === 'victim') return victim;
    const ranges = rangesOf(country);
    const step = 10 ** prefixDigits;
    let last: string | undefined;
    for (let tries = 0; tries < 400; tries++) {
      const r = ranges[spec.numbers === 'sequential' ? rangeIndex % ranges.length : rng.int(0, ranges.length - 1)]!;
      let n: string | undefined;
      const index = r.next;
      if (spec.numbers === 'sequential') {
        n = nthInRange(r.range, RANGE_DIGITS, index, country);
        r.next = (index + 1) % 10 ** RANGE_DIGITS;
      } else {
        n = inRange(r.range, RANGE_DIGITS, country, rng);
      }
      if (!n) continue;
      last = n;
      if (isBlocked(`p:${n.slice(0, -prefixDigits)}`, now)) {
        // Blocked: on to the next prefix (sequential: its first number; at the range's end, the next range).
        if (spec.numbers === 'sequential') {
          r.next = (Math.floor(index / step) + 1) * step;
          if (r.next >= 10 ** RANGE_DIGITS) {
            r.next = 0;
            rangeIndex++;
          }
        }
        continue;
      }
      return n;
    }
    // Every prefix it owns is blocked: it keeps sending (and is refused).
    return last ?? randomMobile(plan.plans.get(country)!, rng);
  }

  function pickIp(country: string, now: number): string {
    switch (spec.ips.mode) {
      case 'rotating':
        return freshIp();
      case 'cgnat_mix': {
        const shared = plan.cgnat.get(country);
        return shared && rng.chance(0.5) ? rng.pick(shared) : freshIp();
      }
      case 'pool': {
        for (let k = 0; k < ipPool.length; k++) {
          const ip = ipPool[(ipIndex + k) % ipPool.length]!;
          if (!isBlocked(`i:${ip}`, now)) {
            ipIndex = (ipIndex + k) % ipPool.length;
            return ip;
          }
        }
        return ipPool[ipIndex]!;
      }
    }
  }

  return {
    spec,
    start,
    times,
    next(now: number): Attempt {
      const country = pickCountry(now);
      return { country, phone: pickNumber(country, now), ip: pickIp(country, now) };
    },
    /** A refusal: `kind` is what was blocked (or capped), until `until`. */
    refused(a: Attempt, kind: BlockedKind, until: number): void {
      if (kind === 'prefix') blockedUntil.set(`p:${a.phone.slice(0, -prefixDigits)}`, until);
      if (kind === 'ip') {
        blockedUntil.set(`i:${a.ip}`, until);
        if (spec.ips.mode === 'pool') ipIndex = (ipIndex + 1) % ipPool.length;
      }
      if (kind === 'country') {
        blockedUntil.set(`c:${a.country}`, until);
        if (!spread) countryIndex = (countryIndex + 1) % codes.length;
      }
    },
    wantsVerify(): boolean {
      return spec.verifyShare > 0 && rng.chance(spec.verifyShare);
    },
    verifyDelay(): number {
      return rng.int(20, 120) * 1000;
    },
  };
}

export type Attacker = ReturnType<typeof createAttacker>;
