/**
 * A small seeded random source (sfc32), so that a seed gives the same traffic on every run
 * and every machine. Separate streams (legitimate traffic, each attack) are derived from the
 * seed and a label, so an attack never shifts the legitimate users' draws.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** An index drawn by weight. */
  weighted(weights: readonly number[]): number;
  poisson(mean: number): number;
}

function hash(label: string): number {
  // FNV-1a, 32 bits.
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function createRng(seed: number, label: string): Rng {
  let a = seed >>> 0;
  let b = hash(label);
  let c = hash(`${label}#${seed}`);
  let d = 1;
  const raw = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) raw();
  const rng: Rng = {
    next: raw,
    int: (min, max) => min + Math.floor(raw() * (max - min + 1)),
    between: (min, max) => min + raw() * (max - min),
    chance: (p) => raw() < p,
    pick: (items) => items[Math.floor(raw() * items.length)]!,
    weighted(weights) {
      const total = weights.reduce((s, w) => s + w, 0);
      let r = raw() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i]!;
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    poisson(mean) {
      // Knuth for small means, a rounded normal approximation above.
      if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(raw)));
      const l = Math.exp(-mean);
      let k = 0;
      let p = 1;
      do {
        k++;
        p *= raw();
      } while (p > l);
      return k - 1;
    },
  };
  return rng;
}

function gaussian(raw: () => number): number {
  const u = Math.max(raw(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * raw());
}
