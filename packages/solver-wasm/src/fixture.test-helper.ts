import { type EncodedProblem, encodedProblem, wordsFor } from "./problem.ts";

/**
 * A packing problem written for people (the JSON fixtures in ./fixtures and the random problems of
 * the differential tests), and its encoding into the kernel's typed arrays. Test support: not part of
 * the package's public surface.
 */
export interface FixtureSpec {
  /**
   * Per group: request vector, pod count, compatible offerings / existing bins (default: all), cap
   * classes (default none) and per listed class its CLASS_COUNTED | CLASS_ACTIVATES flags (default both).
   */
  groups: {
    req: number[];
    count: number;
    compat?: number[];
    existing?: number[];
    classes?: number[];
    classFlags?: number[];
  }[];
  /** Per offering: allocatable, micro-dollars per hour, pool (default 0), capacity (default allocatable), cap group (default none). */
  offerings: { alloc: number[]; price: number; pool?: number; capacity?: number[]; capGroup?: number }[];
  /** Per cap group: at most this many new bins launch as its offerings. */
  capGroups?: number[];
  /** Per pool: limits (R+1, nodes last; null = no limit) and usage already counted. Default: one pool. */
  pools?: { limits?: (number | null)[]; used?: number[] }[];
  /** Per existing bin: free allocatable. */
  existing?: number[][];
  /** Per existing bin, per class: pods of the class already there (default 0). */
  existingClassCount?: number[][];
  /** Per class: at most this many pods of the class in one bin. */
  classes?: number[];
  /** Per class: does it bind only bins it activates (default false: every bin)? */
  conditional?: boolean[];
  maxBins?: number;
  maxPlacements?: number;
  candidateShapes?: number;
  improve?: boolean;
}

/** A fixture file: a spec, and the parts of the result worked out by hand. */
export interface Fixture {
  description: string;
  problem: FixtureSpec;
  expect: {
    status?: number;
    binOffering?: number[];
    binPool?: number[];
    /** Option bitset words of every new bin. */
    binOptions?: number[];
    unplaced?: number[];
    unplacedReason?: number[];
    /** Pods per bin (existing bins first, then new bins), whatever the split into triples. */
    podsPerBin?: number[];
  };
}

/** Encodes a spec; shapes group offerings of equal pool, price, allocatable, capacity, cap group and compat column. */
export function encodeFixture(spec: FixtureSpec): EncodedProblem {
  const R = spec.offerings[0]?.alloc.length ?? spec.groups[0]?.req.length ?? 1;
  const G = spec.groups.length;
  const T = spec.offerings.length;
  const E = spec.existing?.length ?? 0;
  const P = spec.pools?.length ?? 1;
  const C = spec.classes?.length ?? 0;
  const W = wordsFor(T);
  const WE = wordsFor(E);
  const compat = new Uint32Array(G * W);
  const existingCompat = new Uint32Array(G * WE);
  spec.groups.forEach((g, i) => {
    for (const t of g.compat ?? spec.offerings.map((_, k) => k))
      compat[i * W + (t >>> 5)] = (compat[i * W + (t >>> 5)] as number) | (1 << (t & 31));
    for (const e of g.existing ?? (spec.existing ?? []).map((_, k) => k))
      existingCompat[i * WE + (e >>> 5)] = (existingCompat[i * WE + (e >>> 5)] as number) | (1 << (e & 31));
  });
  const shape = new Int32Array(T);
  const seen = new Map<string, number>();
  spec.offerings.forEach((o, t) => {
    const column = spec.groups
      .map((_, g) => ((compat[g * W + (t >>> 5)] as number) >>> (t & 31)) & 1)
      .join("");
    const key = `${o.pool ?? 0}|${o.price}|${o.alloc.join(",")}|${(o.capacity ?? o.alloc).join(",")}|${o.capGroup ?? -1}|${column}`;
    shape[t] = seen.get(key) ?? t;
    if (!seen.has(key)) seen.set(key, t);
  });
  const limits = new Float64Array(P * (R + 1)).fill(Number.POSITIVE_INFINITY);
  const used = new Float64Array(P * (R + 1));
  (spec.pools ?? []).forEach((p, i) => {
    p.limits?.forEach((v, r) => {
      limits[i * (R + 1) + r] = v ?? Number.POSITIVE_INFINITY;
    });
    p.used?.forEach((v, r) => {
      used[i * (R + 1) + r] = v;
    });
  });
  let classCount = 0;
  return encodedProblem({
    resources: R,
    groups: {
      requests: Float64Array.from(spec.groups.flatMap((g) => g.req)),
      counts: Int32Array.from(spec.groups.map((g) => g.count)),
      compat,
      existingCompat,
      classStart: Int32Array.from([0, ...spec.groups.map((g) => (classCount += g.classes?.length ?? 0))]),
      classList: Int32Array.from(spec.groups.flatMap((g) => g.classes ?? [])),
      classFlags: Int32Array.from(
        spec.groups.flatMap((g) => (g.classes ?? []).map((_, i) => g.classFlags?.[i] ?? 3)),
      ),
    },
    offerings: {
      allocatable: Float64Array.from(spec.offerings.flatMap((o) => o.alloc)),
      capacity: Float64Array.from(spec.offerings.flatMap((o) => o.capacity ?? o.alloc)),
      priceMicros: Float64Array.from(spec.offerings.map((o) => o.price)),
      pool: Int32Array.from(spec.offerings.map((o) => o.pool ?? 0)),
      shape,
      capGroup: Int32Array.from(spec.offerings.map((o) => o.capGroup ?? -1)),
    },
    capGroups: { maxBins: Int32Array.from(spec.capGroups ?? []) },
    pools: { limits, used },
    existing: {
      remaining: Float64Array.from((spec.existing ?? []).flat()),
      ...(spec.existingClassCount ? { classCount: Int32Array.from(spec.existingClassCount.flat()) } : {}),
    },
    classes: {
      capPerBin: Int32Array.from(spec.classes ?? []),
      conditional: Uint8Array.from({ length: C }, (_, c) => (spec.conditional?.[c] ? 1 : 0)),
    },
    options: {
      maxBins: spec.maxBins ?? 10_000,
      maxPlacements: spec.maxPlacements ?? 100_000,
      candidateShapes: spec.candidateShapes ?? 16,
      improve: spec.improve ?? true,
    },
  });
}

/** Pods per bin (existing bins 0..E-1, then new bins) from a result's placement triples. */
export function podsPerBin(placements: Int32Array, bins: number): number[] {
  const pods = new Array<number>(bins).fill(0);
  for (let i = 0; i < placements.length; i += 3)
    pods[placements[i + 1] as number] =
      (pods[placements[i + 1] as number] as number) + (placements[i + 2] as number);
  return pods;
}
