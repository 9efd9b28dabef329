import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { encodeFixture, type Fixture, type FixtureSpec, podsPerBin } from "./fixture.test-helper.ts";
import { createKernel } from "./kernel.ts";
import {
  CLASS_ACTIVATES,
  CLASS_COUNTED,
  type EncodedProblem,
  type KernelResult,
  validateEncodedProblem,
  wordsFor,
} from "./problem.ts";

const kernels = {
  simd: createKernel({ flavor: "simd" }),
  scalar: createKernel({ flavor: "scalar" }),
  reference: createKernel({ flavor: "reference" }),
};

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
  const C = p.classes.count;
  const classCount = new Int32Array((E + r.newBins) * C);
  const active = new Uint8Array((E + r.newBins) * C);
  for (let i = 0; i < r.placements.length; i += 3) {
    const [g, bin, n] = [
      r.placements[i] as number,
      r.placements[i + 1] as number,
      r.placements[i + 2] as number,
    ];
    expect(n).toBeGreaterThan(0);
    placed[g] = (placed[g] as number) + n;
    for (let d = 0; d < R; d++)
      load[bin * R + d] = (load[bin * R + d] as number) + n * (p.groups.requests[g * R + d] as number);
    for (let i = p.groups.classStart[g] as number; i < (p.groups.classStart[g + 1] as number); i++) {
      const c = p.groups.classList[i] as number;
      const flags = p.classes.conditional[c]
        ? (p.groups.classFlags[i] as number)
        : CLASS_COUNTED | CLASS_ACTIVATES;
      if (flags & CLASS_COUNTED) classCount[bin * C + c] = (classCount[bin * C + c] as number) + n;
      if (flags & CLASS_ACTIVATES) active[bin * C + c] = 1;
    }
    if (bin < E) {
      expect(((p.groups.existingCompat[g * WE + (bin >>> 5)] as number) >>> (bin & 31)) & 1).toBe(1);
    } else {
      // The launched offering and every other option of the bin can run every group placed in it.
      const b = bin - E;
      const t = r.binOffering[b] as number;
      expect(((p.groups.compat[g * W + (t >>> 5)] as number) >>> (t & 31)) & 1).toBe(1);
      for (let w = 0; w < W; w++)
        expect(((r.binOptions[b * W + w] as number) & ~(p.groups.compat[g * W + w] as number)) >>> 0).toBe(0);
    }
  }
  for (let g = 0; g < p.groups.count; g++)
    expect((placed[g] as number) + (r.unplaced[g] as number)).toBe(p.groups.counts[g]);
  for (let e = 0; e < E; e++) {
    for (let d = 0; d < R; d++)
      expect(load[e * R + d] as number).toBeLessThanOrEqual(p.existing.remaining[e * R + d] as number);
  }
  const usedByPool = Float64Array.from(p.pools.used);
  for (let b = 0; b < r.newBins; b++) {
    const t = r.binOffering[b] as number;
    expect(((r.binOptions[b * W + (t >>> 5)] as number) >>> (t & 31)) & 1).toBe(1);
    expect(p.offerings.pool[t]).toBe(r.binPool[b]);
    // Every option of the bin can host its load.
    for (let o = 0; o < p.offerings.count; o++) {
      if ((((r.binOptions[b * W + (o >>> 5)] as number) >>> (o & 31)) & 1) === 0) continue;
      expect(p.offerings.pool[o]).toBe(r.binPool[b]);
      for (let d = 0; d < R; d++)
        expect(load[(E + b) * R + d] as number).toBeLessThanOrEqual(
          p.offerings.allocatable[o * R + d] as number,
        );
      expect(p.offerings.priceMicros[o] as number).toBeGreaterThanOrEqual(
        p.offerings.priceMicros[t] as number,
      );
    }
    const pool = r.binPool[b] as number;
    for (let d = 0; d < R; d++) {
      let max = 0;
      for (let o = 0; o < p.offerings.count; o++) {
        if (((r.binOptions[b * W + (o >>> 5)] as number) >>> (o & 31)) & 1)
          max = Math.max(max, p.offerings.capacity[o * R + d] as number);
      }
      usedByPool[pool * (R + 1) + d] = (usedByPool[pool * (R + 1) + d] as number) + max;
    }
    usedByPool[pool * (R + 1) + R] = (usedByPool[pool * (R + 1) + R] as number) + 1;
  }
  for (let i = 0; i < usedByPool.length; i++)
    expect(usedByPool[i] as number).toBeLessThanOrEqual(p.pools.limits[i] as number);
  // No cap group launches more bins than it allows.
  const launched = new Int32Array(p.capGroups.count);
  for (let b = 0; b < r.newBins; b++) {
    const k = p.offerings.capGroup[r.binOffering[b] as number] as number;
    if (k >= 0) launched[k] = (launched[k] as number) + 1;
  }
  for (let k = 0; k < p.capGroups.count; k++)
    expect(launched[k] as number).toBeLessThanOrEqual(p.capGroups.maxBins[k] as number);
  for (let bin = 0; bin < E + r.newBins; bin++) {
    for (let c = 0; c < C; c++) {
      // An unconditional class binds every bin; a conditional one the bins a placed pod activates.
      if (p.classes.conditional[c] && !active[bin * C + c]) continue;
      const existing = bin < E ? (p.existing.classCount[bin * C + c] as number) : 0;
      expect((classCount[bin * C + c] as number) + existing).toBeLessThanOrEqual(
        p.classes.capPerBin[c] as number,
      );
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

describe("kernel fixtures (src/fixtures/*.json, expectations worked out by hand)", () => {
  const dir = new URL("./fixtures/", import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  test("the corpus is there", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });
  test.each(files)("%s", (file) => {
    const fixture = JSON.parse(readFileSync(new URL(file, dir), "utf8")) as Fixture;
    const p = encodeFixture(fixture.problem);
    const r = solveAll(p);
    const want = fixture.expect;
    if (want.status !== undefined) expect(r.status).toBe(want.status);
    if (want.binOffering !== undefined) expect(Array.from(r.binOffering)).toEqual(want.binOffering);
    if (want.binPool !== undefined) expect(Array.from(r.binPool)).toEqual(want.binPool);
    if (want.binOptions !== undefined) expect(Array.from(r.binOptions)).toEqual(want.binOptions);
    if (want.unplaced !== undefined) expect(Array.from(r.unplaced)).toEqual(want.unplaced);
    if (want.unplacedReason !== undefined) expect(Array.from(r.unplacedReason)).toEqual(want.unplacedReason);
    if (want.podsPerBin !== undefined)
      expect(podsPerBin(r.placements, p.existing.count + Math.max(0, r.newBins))).toEqual(want.podsPerBin);
  });
});

describe("conditional classes", () => {
  const small = { req: [100, 1] };
  const offerings = [{ alloc: [4000, 110], price: 10 }];

  test("pods only counted crowd a bin no activating pod is in; activating pods keep the cap", () => {
    const spec: FixtureSpec = {
      groups: [
        { ...small, count: 10, classes: [0], classFlags: [CLASS_COUNTED] },
        { ...small, count: 2, classes: [0], classFlags: [CLASS_COUNTED | CLASS_ACTIVATES] },
      ],
      offerings,
      classes: [1],
      conditional: [true],
    };
    const r = solveAll(encodeFixture(spec));
    expect(podsPerBin(r.placements, r.newBins)).toEqual([10, 1, 1]);
    // The same class unconditional: every bin takes one pod of it.
    expect(solveAll(encodeFixture({ ...spec, conditional: [false] })).newBins).toBe(12);
  });

  test("a cap-0 class activated by a pod that is not counted keeps every counted pod off its bin", () => {
    const r = solveAll(
      encodeFixture({
        groups: [
          { ...small, count: 2, classes: [0], classFlags: [CLASS_ACTIVATES] },
          { ...small, count: 5, classes: [0], classFlags: [CLASS_COUNTED] },
        ],
        offerings,
        classes: [0],
        conditional: [true],
      }),
    );
    // The two owners share a bin (neither is counted); the matching pods take another.
    expect(podsPerBin(r.placements, r.newBins)).toEqual([2, 5]);
    expect(Array.from(r.unplaced)).toEqual([0, 0]);
  });

  test("an existing bin starts inactive: counted pods may join it over the cap, activating pods may not", () => {
    const r = solveAll(
      encodeFixture({
        groups: [
          { ...small, count: 1, classes: [0], classFlags: [CLASS_ACTIVATES] },
          { ...small, count: 3, classes: [0], classFlags: [CLASS_COUNTED] },
        ],
        offerings,
        existing: [[4000, 110]],
        existingClassCount: [[2]],
        classes: [1],
        conditional: [true],
      }),
    );
    expect(podsPerBin(r.placements, 1 + r.newBins)).toEqual([3, 1]);
  });
});

describe("kernel differential", () => {
  const arbitrarySpec: fc.Arbitrary<FixtureSpec> = fc
    .record({
      R: fc.integer({ min: 2, max: 6 }),
      G: fc.integer({ min: 0, max: 60 }),
      T: fc.integer({ min: 1, max: 200 }),
      zones: fc.integer({ min: 1, max: 3 }),
      E: fc.integer({ min: 0, max: 20 }),
      P: fc.integer({ min: 1, max: 3 }),
      C: fc.integer({ min: 0, max: 4 }),
      K: fc.integer({ min: 0, max: 3 }),
      seed: fc.integer(),
      maxBins: fc.constantFrom(2, 50, 5000),
      maxPlacements: fc.constantFrom(3, 40, 100_000),
      candidateShapes: fc.constantFrom(0, 1, 4, 16),
      improve: fc.boolean(),
    })
    .map(
      ({
        R,
        G,
        T: offeringCount,
        zones,
        E,
        P,
        C,
        K,
        seed,
        maxBins,
        maxPlacements,
        candidateShapes,
        improve,
      }) => {
        let s = seed >>> 0;
        const rand = () => {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          return s / 2 ** 32;
        };
        const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
        // Instance types offered in 1..3 zones at one price: equal offerings share a shape, unless a
        // group's compatibility tells the zones apart.
        const types = Array.from({ length: Math.max(1, Math.floor(offeringCount / zones)) }, () => {
          const size = 2 ** int(0, 5);
          const alloc = Array.from({ length: R }, (_, d) =>
            d === 0 ? size * 1000 : int(0, 4) === 0 ? 0 : size * int(1, 8),
          );
          return { alloc, price: size * int(50, 150), pool: int(0, P - 1) };
        });
        const offerings: FixtureSpec["offerings"] = types.flatMap((type) =>
          Array.from({ length: zones }, () => type),
        );
        // Capacity reservations: a near-free copy of some offerings, launches capped per reservation.
        const capGroups = Array.from({ length: K }, () => int(0, 4));
        if (K > 0)
          for (const o of offerings.slice())
            if (rand() < 0.25) offerings.push({ ...o, price: int(0, 2), capGroup: int(0, K - 1) });
        const T = offerings.length;
        // Per type yes or no (80% yes), then an occasional zone left out.
        const compatibleOfferings = () => {
          const out: number[] = [];
          let typeOk = false;
          for (let t = 0; t < T; t++) {
            if (t % zones === 0) typeOk = rand() < 0.8;
            if (typeOk && rand() < 0.95) out.push(t);
          }
          return out;
        };
        const conditional = Array.from({ length: C }, () => rand() < 0.5);
        const groups = Array.from({ length: G }, () => ({
          req: Array.from({ length: R }, (_, d) =>
            d === 0 ? int(1, 40) * 100 : int(0, 2) === 0 ? 0 : int(1, 6),
          ),
          count: int(0, 30),
          compat: compatibleOfferings(),
          existing: Array.from({ length: E }, (_, e) => e).filter(() => rand() < 0.7),
          // No class, one, or several (each class with probability 0.3).
          classes: Array.from({ length: C }, (_, c) => c).filter(() => rand() < 0.3),
          // Counted, activating or both (read for conditional classes only); rarely neither.
          classFlags: Array.from({ length: C }, () => [1, 2, 3, 3, 0][int(0, 4)] as number),
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
        // An inactive existing bin may hold more than a conditional class's cap.
        const existingClassCount = existing.map(() =>
          classes.map((cap, c) => int(0, cap + (conditional[c] ? 2 : 0))),
        );
        return {
          groups,
          offerings,
          existing,
          existingClassCount,
          pools,
          classes,
          conditional,
          capGroups,
          maxBins,
          maxPlacements,
          candidateShapes,
          improve,
        };
      },
    );

  test("simd, scalar and reference agree exactly, and every result keeps every invariant", () => {
    fc.assert(
      fc.property(arbitrarySpec, (spec) => {
        const p = encodeFixture(spec);
        solveAll(p);
        // Same input, same output.
        expectSame(kernels.simd.solve(p), kernels.simd.solve(p));
      }),
      { numRuns: 300 },
    );
  });
});
