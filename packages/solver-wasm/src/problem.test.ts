import { describe, expect, test } from "vitest";
import { encodeFixture } from "./fixture.test-helper.ts";
import { defaultGroupValues, validateEncodedProblem, wordsFor } from "./problem.ts";

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
