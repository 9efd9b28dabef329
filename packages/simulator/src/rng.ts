/**
 * Seeded randomness. Every random draw of a simulation comes from a stream named for what it decides
 * (a node's boot time, a node's spot interruption, an app's load noise, kube-scheduler's tie-breaks),
 * seeded by the simulation's seed and that name. Strategies compared on one seed then see the same
 * draws for the same things: node `general-3` boots in the same time under both, whatever else differs.
 */

/** FNV-1a over UTF-16 code units: a stable 32-bit hash of a name. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A random stream: sfc32 (small fast counter), 2^128 period, good enough for a simulation's draws. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, name: string) {
    this.a = seed >>> 0;
    this.b = hash32(name);
    this.c = hash32(`${name}\u0000${seed}`);
    this.d = 1;
    // Mix the state before the first draw.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A standard normal draw (Box-Muller; the second value is dropped so each draw uses two numbers). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** An exponential draw with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}

/** A latency distribution, in seconds. */
export type Distribution =
  | { fixed: number }
  | { uniform: { min: number; max: number } }
  | { normal: { mean: number; sd: number } }
  | { lognormal: { median: number; p95: number } };

/** A draw from `d`, never below 0. */
export function draw(d: Distribution, rng: Rng): number {
  if ("fixed" in d) return d.fixed;
  if ("uniform" in d) return d.uniform.min + (d.uniform.max - d.uniform.min) * rng.next();
  if ("normal" in d) return Math.max(0, d.normal.mean + d.normal.sd * rng.normal());
  // ln X ~ N(mu, sigma): median = e^mu, p95 = e^(mu + 1.6449 sigma).
  const mu = Math.log(d.lognormal.median);
  const sigma = Math.max(0, Math.log(d.lognormal.p95 / d.lognormal.median) / 1.6448536269514722);
  return Math.exp(mu + sigma * rng.normal());
}
