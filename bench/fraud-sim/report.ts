import { attacks, scenarioIds, type ScenarioId } from './attacks.js';
import type { Configuration, JobResult, ScenarioResult } from './engine.js';

/** Countries with fewer scored users than this are listed, not judged against the 2 % target (one user is already more). */
export const MIN_USERS_FOR_COUNTRY_TARGET = 50;

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const num = (x: number, d = 0) => x.toFixed(d);

function stats(xs: number[]): { mean: number; min: number; max: number } {
  if (xs.length === 0) return { mean: NaN, min: NaN, max: NaN };
  return { mean: xs.reduce((s, x) => s + x, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) };
}

function range(xs: number[], f: (x: number) => string): string {
  const s = stats(xs);
  if (xs.length === 0) return '–';
  return s.min === s.max ? f(s.mean) : `${f(s.mean)} (${f(s.min)}–${f(s.max)})`;
}

function byScenario(results: JobResult[], configuration: Configuration, scenario: ScenarioId): ScenarioResult[] {
  return results.filter((r) => r.configuration === configuration).flatMap((r) => r.scenarios.filter((s) => s.scenario === scenario));
}

function worstCountry(s: ScenarioResult): { country: string; share: number; refused: number; users: number } {
  let worst = { country: '–', share: 0, refused: 0, users: 0 };
  for (const [country, c] of Object.entries(s.legit.perCountry)) {
    if (c.users < MIN_USERS_FOR_COUNTRY_TARGET) continue;
    const share = c.refused / c.users;
    if (share > worst.share) worst = { country, share, refused: c.refused, users: c.users };
  }
  return worst;
}

export function report(results: JobResult[], meta: { volume: number; minutes: number; fraudGuard: Record<string, unknown> }): string {
  const seeds = [...new Set(results.map((r) => r.seed))].sort((a, b) => a - b);
  const configs = [...new Set(results.map((r) => r.configuration))];
  const present = scenarioIds.filter((id) => results.some((r) => r.scenarios.some((s) => s.scenario === id)));
  const out: string[] = [];
  out.push(`Seeds ${seeds.join(', ')}; base volume ${meta.volume} sign-ins a day; fraud_guard overrides ${JSON.stringify(meta.fraudGuard)}; ${meta.minutes.toFixed(1)} min.`);
  out.push('');
  out.push('| scenario | target | defences | fraud msgs accepted | fraud cost accepted | fraud cost refused | first block, min | legit users refused | worst country (≥ 50 users) | legit users capped |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const id of present) {
    const spec = id === 'none' ? undefined : attacks[id];
    const target = !spec ? 'no attack' : spec.target === 'count' ? '≤ 50 accepted' : '≥ 80 % cost refused';
    for (const c of configs) {
      const runs = byScenario(results, c, id);
      if (runs.length === 0) continue;
      const f = runs.map((r) => r.fraud).filter((x) => x !== null);
      const accepted = f.map((x) => x.accepted);
      const cost = f.map((x) => x.acceptedCost);
      const refusedShare = f.map((x) => (x.attemptCost > 0 ? 1 - x.acceptedCost / x.attemptCost : 0));
      const firstBlock = f.map((x) => (c === 'guard' ? x.firstBlockMin : x.firstRefusalMin)).filter((x): x is number => x !== null);
      const never = f.length - firstBlock.length;
      const legit = runs.map((r) => r.legit.refusedUsers / Math.max(1, r.legit.users));
      const capped = runs.map((r) => r.legit.cappedUsers / Math.max(1, r.legit.users));
      const worst = runs.map(worstCountry);
      const worstShare = worst.map((w) => w.share);
      const worstMax = worst.reduce((a, b) => (b.share > a.share ? b : a), worst[0]!);
      out.push(
        [
          `(${id}) ${spec?.title ?? 'legitimate traffic only'}`,
          target,
          c === 'caps' ? 'caps only' : Object.keys(meta.fraudGuard).length > 0 ? 'guard (overrides)' : 'guard (defaults)',
          spec ? range(accepted, (x) => num(x)) : '–',
          spec ? range(cost, (x) => num(x, 2)) : '–',
          spec ? range(refusedShare, pct) : '–',
          spec ? `${firstBlock.length > 0 ? range(firstBlock, (x) => num(x, 1)) : 'never'}${never > 0 && firstBlock.length > 0 ? ` (none in ${never})` : ''}` : '–',
          range(legit, pct),
          `${range(worstShare, pct)}${worstMax.share > 0 ? ` worst ${worstMax.country} ${worstMax.refused}/${worstMax.users}` : ''}`,
          range(capped, pct),
        ].join(' | ').replace(/^/, '| ') + ' |',
      );
    }
  }
  out.push('');
  out.push('"first block" is the first fraud.blocked answer to the attacker (guard) or its first refusal of any kind (caps only).');
  out.push('');

  // Guard against caps only, side by side, with each target judged on the means.
  if (configs.includes('guard') && configs.includes('caps')) {
    out.push('| scenario | target | fraud msgs accepted, caps only → guard | their cost, caps only → guard | fraud cost refused, caps only → guard | first refusal (caps) → first block (guard), min | legit users refused (guard) | worst country ≥ 50 users (guard) | met |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    for (const id of present) {
      const spec = id === 'none' ? undefined : attacks[id];
      const g = byScenario(results, 'guard', id);
      const c = byScenario(results, 'caps', id);
      const fr = (runs: ScenarioResult[]) => runs.map((r) => r.fraud).filter((x) => x !== null);
      const refused = (runs: ScenarioResult[]) => fr(runs).map((x) => (x.attemptCost > 0 ? 1 - x.acceptedCost / x.attemptCost : 0));
      const first = (runs: ScenarioResult[], key: 'firstBlockMin' | 'firstRefusalMin') => {
        const xs = fr(runs).map((x) => x[key]).filter((x): x is number => x !== null);
        return xs.length === 0 ? 'never' : `${range(xs, (x) => num(x, 1))}${xs.length < runs.length ? ` (${runs.length - xs.length} never)` : ''}`;
      };
      const legit = g.map((r) => r.legit.refusedUsers / Math.max(1, r.legit.users));
      const worst = g.map(worstCountry);
      const worstMax = worst.reduce((a, b) => (b.share > a.share ? b : a), worst[0]!);
      const legitOk = stats(legit).mean <= 0.005 && stats(worst.map((w) => w.share)).mean <= 0.02;
      let attackOk = true;
      if (spec?.target === 'count') attackOk = stats(fr(g).map((x) => x.accepted)).mean <= 50;
      if (spec?.target === 'share') attackOk = stats(refused(g)).mean >= 0.8;
      out.push(
        `| (${id}) ${spec?.title ?? 'legitimate traffic only'} | ${!spec ? '–' : spec.target === 'count' ? '≤ 50 accepted' : '≥ 80 % refused'} | ${
          spec ? `${range(fr(c).map((x) => x.accepted), (x) => num(x))} → ${range(fr(g).map((x) => x.accepted), (x) => num(x))}` : '–'
        } | ${spec ? `${num(stats(fr(c).map((x) => x.acceptedCost)).mean, 2)} → ${range(fr(g).map((x) => x.acceptedCost), (x) => num(x, 2))}` : '–'} | ${
          spec ? `${range(refused(c), pct)} → ${range(refused(g), pct)}` : '–'
        } | ${spec ? `${first(c, 'firstRefusalMin')} → ${first(g, 'firstBlockMin')}` : '–'} | ${range(legit, pct)} | ${range(
          worst.map((w) => w.share),
          pct,
        )}${worstMax.share > 0 ? ` (${worstMax.country} ${worstMax.refused}/${worstMax.users})` : ''} | ${attackOk && legitOk ? 'yes' : `**no**${!attackOk ? ' (attack)' : ''}${!legitOk ? ' (legit)' : ''}`} |`,
      );
    }
    out.push('');
  }

  // Per country: users per run, and the worst share refused over every scenario and seed.
  if (configs.includes('guard')) {
    const rows = new Map<string, { users: number[]; worst: number; worstAt: string; refusedTotal: number; cappedWorst: number }>();
    for (const r of results.filter((x) => x.configuration === 'guard')) {
      for (const s of r.scenarios) {
        for (const [country, c] of Object.entries(s.legit.perCountry)) {
          const row = rows.get(country) ?? { users: [], worst: 0, worstAt: '–', refusedTotal: 0, cappedWorst: 0 };
          row.users.push(c.users);
          row.refusedTotal += c.refused;
          const share = c.refused / c.users;
          if (share > row.worst) {
            row.worst = share;
            row.worstAt = `(${s.scenario}) seed ${r.seed}: ${c.refused}/${c.users}`;
          }
          row.cappedWorst = Math.max(row.cappedWorst, c.capped / c.users);
          rows.set(country, row);
        }
      }
    }
    // Codes verified per country without an attack (what the legitimate traffic converts at).
    const conv = new Map<string, { sent: number; verified: number }>();
    for (const r of results.filter((x) => x.configuration === 'guard')) {
      for (const s of r.scenarios.filter((x) => x.scenario === 'none')) {
        for (const [country, c] of Object.entries(s.conversion)) {
          const acc = conv.get(country) ?? { sent: 0, verified: 0 };
          acc.sent += c.sent;
          acc.verified += c.verified;
          conv.set(country, acc);
        }
      }
    }
    out.push('Legitimate users per country (guard), over every scenario and seed; codes verified from the runs without an attack:');
    out.push('');
    out.push('| country | users per run | codes verified | worst share refused | where | users refused, all runs | worst share capped |');
    out.push('|---|---|---|---|---|---|---|');
    const sorted = [...rows.entries()].sort((a, b) => stats(b[1].users).mean - stats(a[1].users).mean);
    for (const [country, row] of sorted) {
      const c = conv.get(country);
      const verified = c && c.sent > 0 ? `${((c.verified / c.sent) * 100).toFixed(0)} %` : '–';
      out.push(`| ${country} | ${num(stats(row.users).mean)} | ${verified} | ${pct(row.worst)} | ${row.worst > 0 ? row.worstAt : '–'} | ${row.refusedTotal} | ${pct(row.cappedWorst)} |`);
    }
    out.push('');

    out.push('Guard: legitimate refusals by rule and blocked key, and blocks made, summed over seeds:');
    out.push('');
    out.push('| scenario | legit refusals by rule | keys that refused legit users | blocks by rule | attack refusals by rule |');
    out.push('|---|---|---|---|---|');
    for (const id of present) {
      const runs = byScenario(results, 'guard', id);
      const sum = (pick: (s: ScenarioResult) => Record<string, number> | undefined) => {
        const acc: Record<string, number> = {};
        for (const s of runs) for (const [k, v] of Object.entries(pick(s) ?? {})) acc[k] = (acc[k] ?? 0) + v;
        return Object.entries(acc)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '–';
      };
      out.push(`| (${id}) | ${sum((s) => s.legit.refusalsBy)} | ${sum((s) => s.legit.refusalsByKey)} | ${sum((s) => s.blocksBy)} | ${sum((s) => s.fraud?.refusalsBy)} |`);
    }
    out.push('');
  }

  const first = results[0]?.scenarios[0];
  if (first) {
    const users = stats(results.flatMap((r) => r.scenarios.map((s) => s.legit.users)));
    const sessions = stats(results.flatMap((r) => r.scenarios.map((s) => s.legit.sessions)));
    const warm = stats(results.filter((r) => r.configuration === 'guard').map((r) => r.warmup.legit.refusedUsers / Math.max(1, r.warmup.legit.users)));
    out.push(`Scored legitimate users per run ${num(users.mean)} (${num(users.min)}–${num(users.max)}), sign-ins ${num(sessions.mean)}; warm-up users refused (guard) ${Number.isNaN(warm.mean) ? '–' : pct(warm.mean)}.`);
    const secs = stats(results.flatMap((r) => r.scenarios.map((s) => s.seconds)));
    out.push(`Seconds per scenario run ${num(secs.mean, 1)} (${num(secs.min, 1)}–${num(secs.max, 1)}); warm-up ${num(stats(results.map((r) => r.warmup.seconds)).mean, 1)} s.`);
  }
  return `${out.join('\n')}\n`;
}
