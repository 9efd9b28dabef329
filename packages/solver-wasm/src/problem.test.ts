import { describe, expect, test } from "vitest";
import { encodeFixture } from "./fixture.test-helper.ts";
import { defaultGroupValues, encodedProblem, validateEncodedProblem, wordsFor } from "./problem.ts";

const valid = () =>
  encodeFixture({
    groups: [
      { req: [1000, 2 ** 30], count: 2 },
      { req: [250, 4 * 2 ** 30], count: 1 },
    ],
    offerings: [
      { alloc: [2000, 4 * 2 ** 30], price: 100_000 },
      { alloc: [4000, 16 * 2 ** 30], price: 320_000 },
    ],
  });

describe("validateEncodedProblem", () => {
  test("a well-formed problem has no problems", () => {
    expect(validateEncodedProblem(valid())).toEqual([]);
  });

  test("a region of the wrong size is named with both sizes", () => {
    const p = valid();
    p.groups.counts = new Int32Array(3);
    expect(validateEncodedProblem(p)).toEqual(["groups.counts has 3 entries, expected 2"]);
  });

  test("values the kernel cannot handle are refused before any call", () => {
    const p = valid();
    p.groups.requests[1] = Number.NaN;
    p.offerings.allocatable[0] = Number.POSITIVE_INFINITY;
    p.offerings.priceMicros[1] = 0.5;
    p.offerings.shape[0] = 1;
    p.groups.value[0] = 0;
    p.pools.limits[0] = -1;
    p.options.candidateShapes = -2;
    expect(validateEncodedProblem(p)).toEqual([
      "groups.requests[1] must be a finite number >= 0",
      "offerings.allocatable[0] must be a finite number >= 0",
      "pools.limits[0] must be >= 0 (Infinity = no limit)",
      "groups.value[0] must be a positive finite number",
      "offerings.shape[0] must point at a representative at or before it",
      "offerings.priceMicros[1] must be a non-negative integer",
      "options.candidateShapes must be a non-negative integer (0 = all)",
    ]);
  });

  test("cap groups are checked: index range, counts, and shapes that mix cap groups", () => {
    const p = encodeFixture({
      groups: [{ req: [100, 1], count: 1 }],
      offerings: [
        { alloc: [1000, 10], price: 0, capGroup: 0 },
        { alloc: [1000, 10], price: 0 },
      ],
      capGroups: [2],
    });
    expect(validateEncodedProblem(p)).toEqual([]);
    expect(Array.from(p.offerings.shape)).toEqual([0, 1]);
    p.offerings.shape[1] = 0;
    p.offerings.capGroup[0] = 1;
    p.capGroups.maxBins[0] = -1;
    expect(validateEncodedProblem(p)).toEqual([
      "offerings.capGroup[0] must be -1 or a cap group index",
      "offerings.shape[1]: offering 0 differs in pool, price, allocatable or cap group",
      "capGroups.maxBins[0] must be >= 0",
    ]);
    p.capGroups.maxBins = new Int32Array(0);
    expect(validateEncodedProblem(p)).toEqual(["capGroups.maxBins has 0 entries, expected 1"]);
  });

  test("class lists are checked: offsets, class indexes and duplicates", () => {
    const p = encodeFixture({
      groups: [
        { req: [100, 1], count: 1, classes: [0, 1] },
        { req: [100, 1], count: 1, classes: [1] },
      ],
      offerings: [{ alloc: [1000, 10], price: 5 }],
      classes: [1, 2],
    });
    expect(validateEncodedProblem(p)).toEqual([]);
    p.groups.classList.set([1, 1, 2]);
    expect(validateEncodedProblem(p)).toEqual([
      "groups.classList[1]: class 1 listed twice for group 0",
      "groups.classList[2] must be a class index",
    ]);
    p.groups.classList.set([0, 1, 1]);
    p.groups.classStart.set([0, 4, 3]);
    expect(validateEncodedProblem(p)).toEqual([
      "groups.classStart[1] must be between groups.classStart[0] and classList's length",
      "groups.classStart[2] must be between groups.classStart[1] and classList's length",
    ]);
    p.groups.classStart = new Int32Array(2);
    expect(validateEncodedProblem(p)).toEqual(["groups.classStart has 2 entries, expected 3"]);
  });

  test("conditional classes: flags per class entry and a 0/1 flag per class", () => {
    const p = encodeFixture({
      groups: [{ req: [100, 1], count: 1, classes: [0, 1], classFlags: [1, 2] }],
      offerings: [{ alloc: [1000, 10], price: 5 }],
      classes: [1, 0],
      conditional: [true, false],
    });
    expect(validateEncodedProblem(p)).toEqual([]);
    p.groups.classFlags.set([4, -1]);
    p.classes.conditional[1] = 2;
    expect(validateEncodedProblem(p)).toEqual([
      "classes.conditional[1] must be 0 or 1",
      "groups.classFlags[0] must be a combination of CLASS_COUNTED and CLASS_ACTIVATES",
      "groups.classFlags[1] must be a combination of CLASS_COUNTED and CLASS_ACTIVATES",
    ]);
    p.groups.classFlags = new Int32Array(1);
    p.classes.conditional = new Uint8Array(0);
    expect(validateEncodedProblem(p)).toEqual([
      "groups.classFlags has 1 entries, expected 2",
      "classes.conditional has 0 entries, expected 2",
    ]);
  });

  test("sizes that cannot fit the kernel's 32-bit memory are refused", () => {
    const p = valid();
    p.options.maxBins = 200_000_000;
    expect(validateEncodedProblem(p).join()).toMatch(/bytes of kernel memory/);
  });
});

describe("defaultGroupValues", () => {
  test("a pod is worth its dominant resource at the cheapest rate", () => {
    // cpu: min(100000/2000, 320000/4000) = 50 per milli; memory: min(100000/4, 320000/16) = 20000 per GiB.
    const values = defaultGroupValues(valid());
    expect(Array.from(values)).toEqual([Math.max(1000 * 50, 20_000), Math.max(250 * 50, 4 * 20_000)]);
  });

  test("a pod requesting nothing priced is still worth something (> 0)", () => {
    const p = encodeFixture({
      groups: [{ req: [0, 0], count: 1 }],
      offerings: [{ alloc: [1000, 0], price: 5 }],
    });
    expect(Array.from(defaultGroupValues(p))).toEqual([1]);
  });
});

test("wordsFor rounds up to whole 32-bit words", () => {
  expect([0, 1, 32, 33].map(wordsFor)).toEqual([0, 1, 1, 2]);
});

describe("encodedProblem", () => {
  const R = 2;
  const parts = {
    resources: R,
    groups: {
      requests: Float64Array.from([1000, 2 ** 30, 250, 4 * 2 ** 30]),
      counts: Int32Array.from([2, 1]),
      compat: Uint32Array.from([0b11, 0b01]),
    },
    offerings: {
      allocatable: Float64Array.from([2000, 4 * 2 ** 30, 4000, 16 * 2 ** 30]),
      priceMicros: Float64Array.from([100_000, 320_000]),
    },
  };

  test("the defaults make a valid problem: one pool without limits, no existing bins, classes or caps", () => {
    const p = encodedProblem(parts);
    expect(validateEncodedProblem(p)).toEqual([]);
    expect([p.groups.count, p.offerings.count, p.pools.count, p.existing.count, p.classes.count]).toEqual([
      2, 2, 1, 0, 0,
    ]);
    expect(Array.from(p.pools.limits)).toEqual([Infinity, Infinity, Infinity]);
    expect(Array.from(p.offerings.capacity)).toEqual(Array.from(parts.offerings.allocatable));
    expect(p.offerings.capacity).not.toBe(parts.offerings.allocatable);
    expect(Array.from(p.offerings.shape)).toEqual([0, 1]);
    expect(Array.from(p.offerings.capGroup)).toEqual([-1, -1]);
    expect(Array.from(p.groups.value)).toEqual(Array.from(defaultGroupValues(p)));
    // Room for every pod on a bin of its own.
    expect(p.options.maxBins).toBe(3);
  });

  test("counts are read from the arrays given, and sized defaults follow them", () => {
    const p = encodedProblem({
      ...parts,
      pools: { limits: new Float64Array(2 * (R + 1)).fill(Infinity) },
      existing: { remaining: Float64Array.from([1000, 2 ** 30, 500, 2 ** 29, 0, 0]) },
      classes: { capPerBin: Int32Array.from([1, 2]) },
      options: { maxBins: 7 },
    });
    expect([p.pools.count, p.existing.count, p.classes.count]).toEqual([2, 3, 2]);
    expect(p.pools.used).toHaveLength(2 * (R + 1));
    expect(p.existing.classCount).toHaveLength(3 * 2);
    expect(p.groups.existingCompat).toHaveLength(2 * wordsFor(3));
    expect(p.classes.conditional).toHaveLength(2);
    expect(p.options).toEqual({ maxBins: 7, maxPlacements: 64, candidateShapes: 24, improve: true });
    expect(validateEncodedProblem(p)).toEqual([]);
  });

  test("an array that is not whole rows is refused, naming it", () => {
    expect(() => encodedProblem({ ...parts, existing: { remaining: Float64Array.from([1, 2, 3]) } })).toThrow(
      "existing.remaining has 3 entries, not a multiple of 2",
    );
  });
});
