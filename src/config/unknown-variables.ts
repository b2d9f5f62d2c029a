import { envNames } from './schema.js';

/**
 * OTPGATE_ variables that otpgate reads but that are no setting: the password of
 * `otpgate operator create|password` (never a flag, so that `ps` does not show it).
 */
export const COMMAND_VARIABLES: readonly string[] = ['OTPGATE_OPERATOR_PASSWORD'];

/**
 * OTPGATE_ variables that otpgate itself does not read but the project's own tooling does
 * (the browser tests' Chromium, the benchmarks' PostgreSQL); `OTPGATE_TEST_*` are all the
 * test suites'. They are not reported as unknown.
 */
export const TOOLING_VARIABLES: readonly string[] = ['OTPGATE_CHROMIUM', 'OTPGATE_BENCH_PG_URL', 'OTPGATE_BENCH_BIG_DIR', 'OTPGATE_BENCH_PROFILE_DIR'];
const TOOLING_PREFIX = 'OTPGATE_TEST_';

/** Edit distance (insertions, deletions, substitutions) between two strings. */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The setting whose name is nearest to `name` by edit distance; among equally near ones the
 * one sharing the longest start (a name cut short after `SECRET` means the secret key, not
 * the port rewritten), then the first in the schema's order.
 */
export function nearestSetting(name: string): string {
  let best = '';
  let bestDistance = Infinity;
  let bestPrefix = -1;
  for (const known of Object.values(envNames)) {
    const d = levenshtein(name, known);
    const p = commonPrefix(name, known);
    if (d < bestDistance || (d === bestDistance && p > bestPrefix)) {
      best = known;
      bestDistance = d;
      bestPrefix = p;
    }
  }
  return best;
}

export interface UnknownVariable {
  name: string;
  /** The nearest real setting. */
  nearest: string;
}

/**
 * Every `OTPGATE_*` variable set in `env` (an empty one counts as unset, as for settings) that
 * is neither a setting nor the tooling's, sorted by name.
 */
export function unknownVariables(env: NodeJS.ProcessEnv): UnknownVariable[] {
  const known = new Set<string>([...Object.values(envNames), ...COMMAND_VARIABLES, ...TOOLING_VARIABLES]);
  return Object.keys(env)
    .filter((name) => name.startsWith('OTPGATE_') && env[name] !== undefined && env[name] !== '' && !known.has(name) && !name.startsWith(TOOLING_PREFIX))
    .sort()
    .map((name) => ({ name, nearest: nearestSetting(name) }));
}

/** The warning for one unknown variable, naming it and the nearest setting (never its value: it may be a secret). */
export function describeUnknownVariable(v: UnknownVariable): string {
  return `${v.name} is not an otpgate setting; did you mean ${v.nearest}?`;
}
