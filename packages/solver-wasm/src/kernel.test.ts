import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { createKernel } from "./kernel.ts";
import {
  defaultGroupValues,
  type EncodedProblem,
  ERROR_TOO_MANY_BINS,
  type KernelResult,
  REASON_NO_COMPATIBLE_OFFERING,
  REASON_POOL_LIMIT,
  REASON_TOO_LARGE,
  validateEncodedProblem,
  wordsFor,
} from "./problem.ts";

const kernels = {
  simd: createKernel({ flavor: "simd" }),
  scalar: createKernel({ flavor: "scalar" }),
  reference: createKernel({ flavor: "reference" }),
};

/** A readable problem description, turned into typed arrays. */
interface Spec {
  groups: { req: number[]; count: number; compat?: number[]; existing?: number[]; cls?: number }[];
  offerings: { alloc: number[]; price: number; pool?: number; capacity?: number[] }[];
  pools?: { limits?: number[]; used?: number[] }[];
  existing?: number[][];
  classes?: number[];
  maxBins?: number;
  candidateShapes?: number;
  improve?: boolean;
}

function build(spec: Spec): EncodedProblem {
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
    for (const t of g.compat ?? spec.offerings.map((_, k) => k)) compat[i * W + (t >>> 5)]! |= 1 << (t & 31);
    for (const e of g.existing ?? (spec.existing ?? []).map((_, k) => k))
      existingCompat[i * WE + (e >>> 5)]! |= 1 << (e & 31);
  });
  // Shapes: identical pool, allocatable, price and compat column share a representative.
  const shape = new Int32Array(T);
  const seen = new Map<string, number>();
  spec.offerings.forEach((o, t) => {
    const column = spec.groups.map((_, g) => (compat[g * W + (t >>> 5)]! >>> (t & 31)) & 1).join("");
    const key = `${o.pool ?? 0}|${o.price}|${o.alloc.join(",")}|${(o.capacity ?? o.alloc).join(",")}|${column}`;
    shape[t] = seen.get(key) ?? t;
    if (!seen.has(key)) seen.set(key, t);
  });
  const limits = new Float64Array(P * (R + 1)).fill(Number.POSITIVE_INFINITY);
  const used = new Float64Array(P * (R + 1));
  (spec.pools ?? []).forEach((p, i) => {
    p.limits?.forEach((v, r) => {
      limits[i * (R + 1) + r] = v;
    });
    p.used?.forEach((v, r) => {
      used[i * (R + 1) + r] = v;
    });
  });
  const problem: EncodedProblem = {
    resources: R,
    groups: {
      count: G,
      requests: Float64Array.from(spec.groups.flatMap((g) => g.req)),
      counts: Int32Array.from(spec.groups.map((g) => g.count)),
      compat,
      existingCompat,
      classId: Int32Array.from(spec.groups.map((g) => g.cls ?? -1)),
      value: new Float64Array(G),
    },
    offerings: {
      count: T,
      allocatable: Float64Array.from(spec.offerings.flatMap((o) => o.alloc)),
      capacity: Float64Array.from(spec.offerings.flatMap((o) => o.capacity ?? o.alloc)),
      priceMicros: Float64Array.from(spec.offerings.map((o) => o.price)),
      pool: Int32Array.from(spec.offerings.map((o) => o.pool ?? 0)),
      shape,
    },
    pools: { count: P, limits, used },
    existing: {
      count: E,
      remaining: Float64Array.from((spec.existing ?? []).flat()),
      classCount: new Int32Array(E * C),
    },
    classes: { count: C, capPerBin: Int32Array.from(spec.classes ?? []) },
    options: {
      maxBins: spec.maxBins ?? 10_000,
      maxPlacements: 100_000,
      candidateShapes: spec.candidateShapes ?? 16,
      improve: spec.improve ?? true,
    },
  };
  problem.groups.value.set(defaultGroupValues(problem));
  return problem;
}

function expectSame(a: KernelResult, b: KernelResult): void {
  expect(a.status).toBe(b.status);
  expect(Array.from(a.binOffering)).toEqual(Array.from(b.binOffering));
  expect(Array.from(a.binPool)).toEqual(Array.from(b.binPool));
  expect(Array.from(a.binOptions)).toEqual(Array.from(b.binOptions));
  expect(Array.from(a.placements)).toEqual(Array.from(b.placements));
  expect(Array.from(a.unplaced)).toEqual(Array.from(b.unplaced));
  expect(Array.from(a.unplacedReason)).toEqual(Array.from(b.unplacedReason));
}

/** Every invariant a result must satisfy, checked from the problem alone. */
function checkInvariants(p: EncodedProblem, r: KernelResult): void {
  const R = p.resources;
  const E = p.existing.count;
  const W = wordsFor(p.offerings.count);
  const WE = wordsFor(E);
  if (r.status < 0) return;
  const placed = new Int32Array(p.groups.count);
  const load = new Float64Array((E + r.newBins) * R);
  const classCount = new Int32Array((E + r.newBins) * p.classes.count);
  for (let i = 0; i < r.placements.length; i += 3) {
    const [g, bin, n] = [r.placements[i]!, r.placements[i + 1]!, r.placements[i + 2]!];
    expect(n).toBeGreaterThan(0);
    placed[g]! += n;
    for (let d = 0; d < R; d++) load[bin * R + d]! += n * p.groups.requests[g * R + d]!;
    const c = p.groups.classId[g]!;
    if (c >= 0) classCount[bin * p.classes.count + c]! += n;
    if (bin < E) {
      expect((p.groups.existingCompat[g * WE + (bin >>> 5)]! >>> (bin & 31)) & 1).toBe(1);
    } else {
      const t = r.binOffering[bin - E]!;
      expect((p.groups.compat[g * W + (t >>> 5)]! >>> (t & 31)) & 1).toBe(1);
    }
  }
  for (let g = 0; g < p.groups.count; g++) expect(placed[g]! + r.unplaced[g]!).toBe(p.groups.counts[g]);
  for (let e = 0; e < E; e++) {
    for (let d = 0; d < R; d++)
      expect(load[e * R + d]!).toBeLessThanOrEqual(p.existing.remaining[e * R + d]!);
  }
  const usedByPool = Float64Array.from(p.pools.used);
  for (let b = 0; b < r.newBins; b++) {
    const t = r.binOffering[b]!;
    expect((r.binOptions[b * W + (t >>> 5)]! >>> (t & 31)) & 1).toBe(1);
    expect(p.offerings.pool[t]).toBe(r.binPool[b]);
    // Every option of the bin can host its load.
    for (let o = 0; o < p.offerings.count; o++) {
      if (((r.binOptions[b * W + (o >>> 5)]! >>> (o & 31)) & 1) === 0) continue;
      expect(p.offerings.pool[o]).toBe(r.binPool[b]);
      for (let d = 0; d < R; d++)
        expect(load[(E + b) * R + d]!).toBeLessThanOrEqual(p.offerings.allocatable[o * R + d]!);
      expect(p.offerings.priceMicros[o]!).toBeGreaterThanOrEqual(p.offerings.priceMicros[t]!);
    }
    const pool = r.binPool[b]!;
    for (let d = 0; d < R; d++) {
      let max = 0;
      for (let o = 0; o < p.offerings.count; o++) {
        if ((r.binOptions[b * W + (o >>> 5)]! >>> (o & 31)) & 1)
          max = Math.max(max, p.offerings.capacity[o * R + d]!);
      }
      usedByPool[pool * (R + 1) + d]! += max;
    }
    usedByPool[pool * (R + 1) + R]! += 1;
  }
  for (let i = 0; i < usedByPool.length; i++) expect(usedByPool[i]!).toBeLessThanOrEqual(p.pools.limits[i]!);
  for (let bin = 0; bin < E + r.newBins; bin++) {
    for (let c = 0; c < p.classes.count; c++) {
      const existing = bin < E ? p.existing.classCount[bin * p.classes.count + c]! : 0;
      expect(classCount[bin * p.classes.count + c]! + existing).toBeLessThanOrEqual(p.classes.capPerBin[c]!);
    }
  }
}

function solveAll(p: EncodedProblem): KernelResult {
  expect(validateEncodedProblem(p)).toEqual([]);
  const ref = kernels.reference.solve(p);
  expectSame(kernels.simd.solve(p), ref);
  expectSame(kernels.scalar.solve(p), ref);
  checkInvariants(p, ref);
  return ref;
}

describe("kernel fixtures", () => {
  test("three 1-cpu pods on 2- and 4-cpu offerings: one 4-cpu bin", () => {
    const r = solveAll(
      build({
        groups: [{ req: [1000, 1], count: 3 }],
        offerings: [
          { alloc: [2000, 110], price: 100_000 },
          { alloc: [4000, 110], price: 190_000 },
        ],
      }),
    );
    expect(r.newBins).toBe(1);
    expect(Array.from(r.binOffering)).toEqual([1]);
    // A merge may leave one bin with several entries for a group: count per bin.
    let onBin0 = 0;
    for (let i = 0; i < r.placements.length; i += 3)
      if (r.placements[i + 1] === 0) onBin0 += r.placements[i + 2]!;
    expect(onBin0).toBe(3);
  });

  test("existing bins fill first, the rest opens new bins", () => {
    const r = solveAll(
      build({
        groups: [{ req: [1000, 1], count: 5 }],
        offerings: [{ alloc: [4000, 110], price: 190_000 }],
        existing: [[2000, 10]],
      }),
    );
    expect(Array.from(r.placements.slice(0, 3))).toEqual([0, 0, 2]);
    expect(r.newBins).toBe(1);
  });

  test("reasons: incompatible, too large, pool limit", () => {
    const r = solveAll(
      build({
        groups: [
          { req: [8000, 1], count: 1 },
          { req: [100, 1], count: 1, compat: [] },
          { req: [1000, 1], count: 6 },
        ],
        offerings: [{ alloc: [4000, 110], price: 1, capacity: [4000, 110] }],
        pools: [{ limits: [4000, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY] }],
      }),
    );
    expect(Array.from(r.unplacedReason)).toEqual([
      REASON_TOO_LARGE,
      REASON_NO_COMPATIBLE_OFFERING,
      REASON_POOL_LIMIT,
    ]);
    expect(Array.from(r.unplaced)).toEqual([1, 1, 2]);
  });

  test("class caps: one pod per bin", () => {
    const r = solveAll(
      build({
        groups: [{ req: [100, 1], count: 4, cls: 0 }],
        offerings: [{ alloc: [4000, 110], price: 5 }],
        classes: [1],
      }),
    );
    expect(r.newBins).toBe(4);
  });

  test("higher-priority pool wins even when pricier", () => {
    const r = solveAll(
      build({
        groups: [{ req: [1000, 1], count: 1 }],
        offerings: [
          { alloc: [4000, 110], price: 10, pool: 1 },
          { alloc: [4000, 110], price: 500, pool: 0 },
        ],
        pools: [{}, {}],
      }),
    );
    expect(Array.from(r.binPool)).toEqual([0]);
  });

  test("too small an output region is an error, not a wrong answer", () => {
    const p = build({
      groups: [{ req: [1000, 1], count: 10 }],
      offerings: [{ alloc: [1000, 110], price: 1 }],
      maxBins: 3,
    });
    const r = solveAll(p);
    expect(r.status).toBe(ERROR_TOO_MANY_BINS);
  });
});

describe("kernel differential", () => {
  const arbitrarySpec: fc.Arbitrary<Spec> = fc
    .record({
      R: fc.integer({ min: 2, max: 6 }),
      G: fc.integer({ min: 0, max: 40 }),
      T: fc.integer({ min: 1, max: 120 }),
      E: fc.integer({ min: 0, max: 12 }),
      P: fc.integer({ min: 1, max: 3 }),
      C: fc.integer({ min: 0, max: 3 }),
      seed: fc.integer(),
      maxBins: fc.constantFrom(2, 50, 5000),
      candidateShapes: fc.constantFrom(0, 1, 4, 16),
      improve: fc.boolean(),
    })
    .map(({ R, G, T, E, P, C, seed, maxBins, candidateShapes, improve }) => {
      let s = seed >>> 0;
      const rand = () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s / 2 ** 32;
      };
      const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
      const offerings = Array.from({ length: T }, () => {
        const size = 2 ** int(0, 5);
        const alloc = Array.from({ length: R }, (_, d) =>
          d === 0 ? size * 1000 : int(0, 4) === 0 ? 0 : size * int(1, 8),
        );
        return { alloc, price: size * int(50, 150), pool: int(0, P - 1) };
      });
      const groups = Array.from({ length: G }, () => ({
        req: Array.from({ length: R }, (_, d) =>
          d === 0 ? int(1, 40) * 100 : int(0, 2) === 0 ? 0 : int(1, 6),
        ),
        count: int(0, 30),
        compat: Array.from({ length: T }, (_, t) => t).filter(() => rand() < 0.8),
        existing: Array.from({ length: E }, (_, e) => e).filter(() => rand() < 0.7),
        cls: C > 0 && rand() < 0.4 ? int(0, C - 1) : -1,
      }));
      const existing = Array.from({ length: E }, () =>
        Array.from({ length: R }, (_, d) => (d === 0 ? int(0, 8) * 1000 : int(0, 20))),
      );
      const pools = Array.from({ length: P }, () =>
        rand() < 0.5
          ? {
              limits: Array.from({ length: R + 1 }, (_, d) =>
                d === 0 ? int(4, 64) * 1000 : Number.POSITIVE_INFINITY,
              ),
            }
          : {},
      );
      const classes = Array.from({ length: C }, () => int(0, 5));
      return { groups, offerings, existing, pools, classes, maxBins, candidateShapes, improve };
    });

  test("simd, scalar and reference agree exactly, and every result keeps every invariant", () => {
    fc.assert(
      fc.property(arbitrarySpec, (spec) => {
        const p = build(spec);
        solveAll(p);
        // Same input, same output.
        expectSame(kernels.simd.solve(p), kernels.simd.solve(p));
      }),
      { numRuns: 300 },
    );
  });
});
