import { mistype, mobilePlan, randomMobile, type MobilePlan } from './numbers.js';
import { createRng, type Rng } from './rng.js';

/**
 * The simulated tenant's world: its countries (share of traffic, how often codes are
 * verified, price per segment), its users (numbers and the IPs they come from) and 30 days of
 * their sign-ins, drawn once per seed. The plan is plain data, so the same legitimate traffic
 * runs under every attack and every configuration.
 */

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const MIN = 60_000;
/** Day 0 of the simulation (a Monday), UTC. */
export const SIM_START = Date.UTC(2026, 9, 5);
export const DAYS = 30;
export const WARMUP_DAYS = 14;
/** The campaign day (3–5× traffic) and the day a new country is launched, as day indexes. */
export const CAMPAIGN_DAY = 25;
export const LAUNCH_DAY = 20;
export const CAMPAIGN_FACTOR = 4;

export type CountryRole = 'home' | 'neighbour' | 'poor' | 'tail' | 'launch';

export interface LegitCountry {
  code: string;
  role: CountryRole;
  /** Share of the base daily volume. */
  share: number;
  /** Share of codes verified (drawn per seed within the role's range). */
  verify: number;
  /** Hours ahead of UTC, for the daily curve. */
  utcOffset: number;
}

/** Price of one segment, in the tenant's currency, by country (`default` for the rest). */
export const prices: Record<string, number> = {
  default: 0.1,
  GB: 0.035, IE: 0.06, FR: 0.07, NL: 0.08, ES: 0.07, NG: 0.16, PL: 0.04,
  DE: 0.08, IT: 0.07, PT: 0.05, BE: 0.08, SE: 0.06, CH: 0.07, FI: 0.08, GR: 0.09, HU: 0.1,
  IN: 0.02, PK: 0.2, TR: 0.06, BR: 0.05, AR: 0.08, ZA: 0.05, KE: 0.12, AU: 0.05, JP: 0.09, EG: 0.22, ID: 0.25,
  // Expensive destinations with no legitimate users: where pumping goes.
  UZ: 0.27, TJ: 0.3, KG: 0.26, AZ: 0.3, KH: 0.15, AF: 0.3, IQ: 0.25, YE: 0.28, SO: 0.32,
  ZW: 0.18, KZ: 0.22, MD: 0.2, LY: 0.24, SD: 0.22, MA: 0.17, TN: 0.22, BD: 0.15, NP: 0.18,
  VN: 0.15, LK: 0.2, UA: 0.12, PH: 0.18, BY: 0.2, RW: 0.22, UG: 0.24, TZ: 0.2, ET: 0.26, CM: 0.23,
  SN: 0.21, TD: 0.28, CD: 0.29, TM: 0.3, GN: 0.27, OM: 0.19, SY: 0.25, ER: 0.33,
};

/** Expensive countries the tenant has no users in. */
export const noHistoryExpensive = [
  'UZ', 'TJ', 'KG', 'AZ', 'AF', 'IQ', 'YE', 'SO', 'KZ', 'MD', 'LY', 'SD', 'TN', 'NP', 'ZW', 'MA', 'BD', 'VN',
  'LK', 'UA', 'PH', 'KH', 'BY', 'RW', 'UG', 'TZ', 'ET', 'CM', 'SN', 'TD', 'CD', 'TM', 'GN', 'OM', 'SY', 'ER',
];
/** Expensive countries with a few legitimate users (the long tail). */
export const tailExpensive = ['PK', 'EG', 'ID', 'KE'];

const tail: Array<[string, number]> = [
  ['DE', 1], ['IT', 0], ['PT', 0], ['BE', 1], ['SE', 1], ['CH', 1], ['FI', 2], ['GR', 2], ['HU', 1], ['IN', 5],
  ['PK', 5], ['TR', 3], ['BR', -3], ['AR', -3], ['ZA', 2], ['KE', 3], ['AU', 10], ['JP', 9], ['EG', 2], ['ID', 7],
];

export function legitCountries(rng: Rng): LegitCountry[] {
  const v = (min: number, max: number) => Math.round(rng.between(min, max) * 100) / 100;
  return [
    { code: 'GB', role: 'home', share: 0.7, verify: v(0.84, 0.9), utcOffset: 0 },
    { code: 'IE', role: 'neighbour', share: 0.05, verify: v(0.78, 0.88), utcOffset: 0 },
    { code: 'FR', role: 'neighbour', share: 0.05, verify: v(0.75, 0.88), utcOffset: 1 },
    { code: 'NL', role: 'neighbour', share: 0.03, verify: v(0.78, 0.9), utcOffset: 1 },
    { code: 'ES', role: 'neighbour', share: 0.03, verify: v(0.76, 0.88), utcOffset: 1 },
    // Session-level 0.55 gives about half of the codes verified (mistypes and second tries add codes).
    { code: 'NG', role: 'poor', share: 0.04, verify: 0.55, utcOffset: 1 },
    ...tail.map(([code, utcOffset]): LegitCountry => ({ code, role: 'tail', share: 0.1 / tail.length, verify: v(0.72, 0.92), utcOffset })),
    { code: 'PL', role: 'launch', share: 0.04, verify: v(0.78, 0.86), utcOffset: 1 },
  ];
}

/** Relative sign-ins per local hour: quiet nights, a working day, an evening peak (≈ 7 % of the day in the busiest hour). */
export const hourlyCurve = [0.25, 0.15, 0.1, 0.1, 0.12, 0.2, 0.45, 0.8, 1.1, 1.2, 1.2, 1.15, 1.2, 1.15, 1.1, 1.1, 1.15, 1.25, 1.4, 1.5, 1.45, 1.25, 0.9, 0.5];

/** One step of a sign-in: send a code (to the right number or a mistyped one) or verify the latest. */
export interface Step {
  /** Delay after the previous step, ms. */
  delay: number;
  action: 'send' | 'send_wrong' | 'verify';
}

export interface SessionPlan {
  id: number;
  user: number;
  country: string;
  phone: string;
  /** The mistyped number of the first send, when the user mistyped. */
  wrong: string | null;
  ip: string;
  start: number;
  steps: Step[];
  campaign: boolean;
}

export interface User {
  id: number;
  country: string;
  phone: string;
  kind: 'broadband' | 'cgnat' | 'office';
  /** Broadband: the household's IP; office: the office's IP. */
  ip: string;
}

export interface LegitPlan {
  countries: LegitCountry[];
  users: User[];
  sessions: SessionPlan[];
  /** Valid mobile numbering per country (attacks reuse it). */
  plans: Map<string, MobilePlan>;
  /** CGNAT addresses per country (attack (d) hides among them). */
  cgnat: Map<string, string[]>;
  volume: number;
}

const ipOf = (a: number, n: number) => `${a}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/**
 * The legitimate traffic of one seed. `volume` is the base number of sign-ins per day (the
 * campaign day has CAMPAIGN_FACTOR times as many; weekends 0.8).
 */
export function planLegit(seed: number, volume: number): LegitPlan {
  const rng = createRng(seed, 'legit');
  const countries = legitCountries(rng);
  const plans = new Map<string, MobilePlan>();
  const numberRng = createRng(seed, 'numbers');
  for (const c of [...countries.map((x) => x.code), ...noHistoryExpensive]) plans.set(c, mobilePlan(c, numberRng));

  // Offices: a dozen in the home country; two of them international (staff with foreign numbers).
  const offices = Array.from({ length: 12 }, (_, i) => ipOf(62, 1000 + i));
  const internationalOffices = offices.slice(0, 2);
  // Airports and hotels: travellers of every country share them.
  const hubs = Array.from({ length: 4 }, (_, i) => ipOf(185, 2000 + i));

  const users: User[] = [];
  const byCountry = new Map<string, User[]>();
  const cgnat = new Map<string, string[]>();
  let ipSeq = 0;
  for (const c of countries) {
    const perDay = volume * c.share;
    // Each user signs in about every six days.
    const size = Math.max(8, Math.round(perDay * 6));
    const cgnatShare = c.role === 'poor' ? 0.6 : 0.35;
    // A carrier's shared addresses: each carries about a dozen of this tenant's sign-ins a day.
    cgnat.set(c.code, Array.from({ length: Math.max(1, Math.round((perDay * cgnatShare) / 12)) }, () => ipOf(100, 500_000 + ipSeq++)));
    const list: User[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < size; i++) {
      let phone = randomMobile(plans.get(c.code)!, numberRng);
      while (seen.has(phone)) phone = randomMobile(plans.get(c.code)!, numberRng);
      seen.add(phone);
      const r = rng.next();
      const home = c.role === 'home';
      let kind: User['kind'];
      let ip: string;
      if (r < cgnatShare) {
        kind = 'cgnat';
        ip = '';
      } else if ((home && r < cgnatShare + 0.2) || (!home && c.role !== 'tail' && r < cgnatShare + 0.05) || (c.role === 'tail' && r < cgnatShare + 0.04)) {
        kind = 'office';
        ip = home ? rng.pick(offices) : rng.pick(internationalOffices);
      } else {
        kind = 'broadband';
        ip = ipOf(81, ipSeq++);
      }
      const u: User = { id: users.length, country: c.code, phone, kind, ip };
      users.push(u);
      list.push(u);
    }
    byCountry.set(c.code, list);
  }

  const sessions: SessionPlan[] = [];
  for (let day = 0; day < DAYS; day++) {
    const weekend = day % 7 >= 5;
    const dayFactor = (weekend ? 0.8 : 1) * rng.between(0.92, 1.08);
    const campaign = day === CAMPAIGN_DAY;
    for (const c of countries) {
      if (c.role === 'launch' && day < LAUNCH_DAY) continue;
      const launchPush = c.role === 'launch' && day < LAUNCH_DAY + 2 ? 1.5 : 1;
      const mean = volume * c.share * dayFactor * launchPush;
      const normal = rng.poisson(mean);
      // The campaign's extra sign-ins come mostly in the four hours after the 10:00 mailing.
      const extra = campaign ? rng.poisson(mean * (CAMPAIGN_FACTOR - 1)) : 0;
      const pool = byCountry.get(c.code)!;
      for (let k = 0; k < normal + extra; k++) {
        const isExtra = k >= normal;
        let hour: number;
        if (isExtra && rng.chance(0.6)) hour = 10 + rng.int(0, 3);
        else hour = rng.weighted(hourlyCurve);
        const utcHour = (hour - c.utcOffset + 24) % 24;
        const start = SIM_START + day * DAY + utcHour * HOUR + Math.floor(rng.next() * HOUR);
        // New sign-ups of the campaign are new users; otherwise a returning one.
        const user = isExtra && rng.chance(0.7) ? newUser(c, pool) : rng.pick(pool);
        sessions.push(session(rng, sessions.length, user, c, start, hubs, cgnat, numberRng, isExtra));
      }
    }
  }
  sessions.sort((a, b) => a.start - b.start || a.id - b.id);

  function newUser(c: LegitCountry, pool: User[]): User {
    const phone = randomMobile(plans.get(c.code)!, numberRng);
    const r = rng.next();
    const u: User = { id: users.length, country: c.code, phone, kind: r < 0.45 ? 'cgnat' : 'broadband', ip: r < 0.45 ? '' : ipOf(81, ipSeq++) };
    users.push(u);
    pool.push(u);
    return u;
  }

  return { countries, users, sessions, plans, cgnat, volume };
}

function session(rng: Rng, id: number, user: User, c: LegitCountry, start: number, hubs: string[], cgnat: Map<string, string[]>, numberRng: Rng, campaign: boolean): SessionPlan {
  // Travellers and visitors sign in from airports and hotels, whatever their number's country.
  let ip: string;
  if (rng.chance(0.03)) ip = rng.pick(hubs);
  else if (user.kind === 'cgnat') ip = rng.pick(cgnat.get(c.code)!);
  else ip = user.ip;

  const steps: Step[] = [];
  let wrong: string | null = null;
  if (rng.chance(0.04)) {
    wrong = mistype(user.phone, c.code, numberRng) ?? null;
    if (wrong) {
      steps.push({ delay: 0, action: 'send_wrong' });
      steps.push({ delay: rng.int(60, 180) * 1000, action: 'send' });
    }
  }
  if (steps.length === 0) steps.push({ delay: 0, action: 'send' });
  // Codes that are slow to arrive get a resend (more of them where delivery is poor).
  if (rng.chance(0.08 + (1 - c.verify) * 0.5)) steps.push({ delay: rng.int(35, 120) * 1000, action: 'send' });
  if (rng.chance(c.verify)) {
    steps.push({ delay: rng.int(10, 150) * 1000, action: 'verify' });
  } else if (rng.chance(0.35)) {
    // Some come back after the code expired and try again.
    steps.push({ delay: rng.int(6, 20) * MIN, action: 'send' });
    if (rng.chance(c.verify)) steps.push({ delay: rng.int(10, 150) * 1000, action: 'verify' });
  }
  return { id, user: user.id, country: c.code, phone: user.phone, wrong, ip, start, steps, campaign };
}
