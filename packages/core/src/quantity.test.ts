import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { formatQuantity, parseQuantity, type QuantityKind } from "./quantity.ts";

const MAX = Number.MAX_SAFE_INTEGER;
const kinds = fc.constantFrom<QuantityKind>("cpu", "bytes", "count");

function value(input: string | number, kind: QuantityKind): number {
  const result = parseQuantity(input, kind);
  if (!result.ok) throw new Error(`${JSON.stringify(input)} as ${kind} failed: ${result.error.code}`);
  return result.value;
}

function errorCode(input: string | number, kind: QuantityKind): string | undefined {
  const result = parseQuantity(input, kind);
  return result.ok ? undefined : result.error.code;
}

describe("parseQuantity as cpu (millicores, rounded up like MilliValue)", () => {
  test.each<[string | number, number]>([
    ["100m", 100],
    ["0.5", 500],
    [".5", 500],
    ["5.", 5000],
    ["0.1", 100],
    ["1", 1000],
    ["+1", 1000],
    ["007", 7000],
    ["1k", 1_000_000],
    ["1M", 1_000_000_000],
    ["1G", 1_000_000_000_000],
    ["1T", 1_000_000_000_000_000],
    ["1e3", 1_000_000],
    ["5E-3", 5],
    ["12e+2", 1_200_000],
    ["1.5e1", 15_000],
    ["1n", 1],
    ["1u", 1],
    ["1000u", 1],
    ["1001u", 2],
    ["1000000n", 1],
    ["1.0001", 1001],
    ["0.1m", 1],
    ["0.0001", 1],
    ["1Ki", 1_024_000],
    ["123456789", 123_456_789_000],
    ["0", 0],
    ["-0", 0],
    ["0.000", 0],
    ["0e99999", 0],
    ["0.000000000000000000000001", 1],
    [2, 2000],
    [0.25, 250],
    [1e-7, 1],
    [0, 0],
  ])("%j -> %i", (input, expected) => {
    expect(value(input, "cpu")).toBe(expected);
  });
});

describe("parseQuantity as bytes (rounded up like Value)", () => {
  test.each<[string | number, number]>([
    ["1Ki", 2 ** 10],
    ["1Mi", 2 ** 20],
    ["1Gi", 2 ** 30],
    ["1Ti", 2 ** 40],
    ["1Pi", 2 ** 50],
    ["7Pi", 7 * 2 ** 50],
    ["1k", 1e3],
    ["1M", 1e6],
    ["1G", 1e9],
    ["1T", 1e12],
    ["1P", 1e15],
    ["2.5Gi", 2_684_354_560],
    ["1.1Gi", 1_181_116_007],
    ["0.5Ki", 512],
    [".5Mi", 524_288],
    ["1e3", 1000],
    ["5E-3", 1],
    ["12e+2", 1200],
    ["1n", 1],
    ["1u", 1],
    ["100m", 1],
    ["1500m", 2],
    ["2000m", 2],
    ["123456789", 123_456_789],
    ["9007199254740991", MAX],
    ["1e-999999999999", 1],
    [2, 2],
    [0.25, 1],
  ])("%j -> %i", (input, expected) => {
    expect(value(input, "bytes")).toBe(expected);
  });
});

describe("parseQuantity as count (rounded up like Value)", () => {
  test.each<[string | number, number]>([
    ["1", 1],
    ["0.5", 1],
    ["110", 110],
    ["1k", 1000],
    ["1e2", 100],
    ["8", 8],
    [4, 4],
  ])("%j -> %i", (input, expected) => {
    expect(value(input, "count")).toBe(expected);
  });
});

describe("parseQuantity rejects", () => {
  test.each<[string | number, QuantityKind]>([
    ["1.5.5", "cpu"],
    ["10Mb", "bytes"],
    ["--1", "cpu"],
    ["+-1", "cpu"],
    ["", "cpu"],
    [" 1", "cpu"],
    ["1 ", "cpu"],
    ["1\n", "cpu"],
    ["1 Gi", "bytes"],
    ["Gi", "bytes"],
    ["1e", "cpu"],
    ["e3", "cpu"],
    ["1e1.5", "cpu"],
    ["1.5e", "cpu"],
    ["0x10", "count"],
    [".", "cpu"],
    ["+", "cpu"],
    ["-", "cpu"],
    ["1K", "bytes"],
    ["1gi", "bytes"],
    ["1ki", "bytes"],
    ["1mi", "bytes"],
    ["1KiB", "bytes"],
    ["1_000", "count"],
    ["1,5", "cpu"],
    ["١", "count"],
    [Number.NaN, "cpu"],
    [Number.POSITIVE_INFINITY, "bytes"],
  ])("%j as %s is invalid_quantity", (input, kind) => {
    expect(errorCode(input, kind)).toBe("invalid_quantity");
  });

  test.each<[string | number, QuantityKind]>([
    ["-1", "cpu"],
    ["-100m", "cpu"],
    ["-0.0001", "cpu"],
    ["-1Gi", "bytes"],
    [-1, "count"],
    ["1P", "cpu"],
    ["1E", "cpu"],
    ["1E", "bytes"],
    ["1E", "count"],
    ["1Ei", "cpu"],
    ["1Ei", "bytes"],
    ["8Pi", "bytes"],
    ["9007199254740992", "bytes"],
    ["9007199254740.992", "cpu"],
    ["1e999999999999", "bytes"],
    [1e21, "bytes"],
  ])("%j as %s is quantity_out_of_range", (input, kind) => {
    expect(errorCode(input, kind)).toBe("quantity_out_of_range");
  });

  test("errors carry a copy of the path, the value and what was expected", () => {
    const path = ["spec", "containers", 0, "resources", "requests", "cpu"];
    const bad = parseQuantity("1.5.5", "cpu", path);
    expect(bad).toEqual({
      ok: false,
      error: {
        code: "invalid_quantity",
        path,
        value: "1.5.5",
        expected: "a Kubernetes quantity such as 500m, 2, 1.5Gi or 1e3",
      },
    });
    if (!bad.ok) expect(bad.error.path).not.toBe(path);

    const big = parseQuantity("1Ei", "cpu", ["memory"]);
    expect(big).toEqual({
      ok: false,
      error: {
        code: "quantity_out_of_range",
        path: ["memory"],
        value: "1Ei",
        expected: "a quantity of at most 9007199254740991m",
      },
    });
    const negative = parseQuantity(-2, "count");
    expect(negative.ok ? undefined : negative.error).toMatchObject({
      path: [],
      value: "-2",
      expected: "a non-negative quantity",
    });
  });

  test("long values are shortened in the error", () => {
    const result = parseQuantity(`${"9".repeat(100)}x`, "count");
    expect(result.ok ? undefined : result.error.value).toHaveLength(64);
  });
});

describe("formatQuantity", () => {
  test.each<[number, QuantityKind, string]>([
    [1930, "cpu", "1930m"],
    [2000, "cpu", "2"],
    [1, "cpu", "1m"],
    [0, "cpu", "0"],
    [-1500, "cpu", "-1500m"],
    [6903 * 2 ** 20, "bytes", "6903Mi"],
    [2 ** 10, "bytes", "1Ki"],
    [3 * 2 ** 30, "bytes", "3Gi"],
    [2 ** 50, "bytes", "1Pi"],
    [1000, "bytes", "1k"],
    [1_500_000, "bytes", "1500k"],
    [2e9, "bytes", "2G"],
    [1023, "bytes", "1023"],
    [1_024_000, "bytes", "1024k"],
    [2 ** 20 * 1000, "bytes", "1000Mi"],
    [MAX, "bytes", "9007199254740991"],
    [0, "bytes", "0"],
    [29, "count", "29"],
    [1000, "count", "1000"],
  ])("%i %s -> %s", (input, kind, expected) => {
    expect(formatQuantity(input, kind)).toBe(expected);
  });

  const scales = fc.constantFrom(1, 1000, 1024, 1e6, 2 ** 20, 1e9, 2 ** 30, 2 ** 40, 1e12, 2 ** 50);

  test("parseQuantity(formatQuantity(v, k), k) === v for any safe non-negative integer", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX }), kinds, (v, kind) => {
        expect(value(formatQuantity(v, kind), kind)).toBe(v);
      }),
    );
  });

  test("round trip holds for round numbers that take suffixes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), scales, kinds, (n, scale, kind) => {
        const v = n * scale;
        fc.pre(v <= MAX);
        const text = formatQuantity(v, kind);
        expect(value(text, kind)).toBe(v);
        expect(text.length).toBeLessThanOrEqual(String(v).length + 1);
      }),
    );
  });
});

describe("parseQuantity laws", () => {
  const decimal = fc
    .tuple(fc.stringMatching(/^\d{1,9}$/), fc.stringMatching(/^\d{0,12}$/))
    .map(([whole, fraction]) => (fraction === "" ? whole : `${whole}.${fraction}`));

  test("a suffix means its power: Xk = Xe3 = X×1000, Xm as cpu = X as count", () => {
    fc.assert(
      fc.property(decimal, (x) => {
        expect(value(`${x}k`, "bytes")).toBe(value(`${x}e3`, "bytes"));
        expect(value(`${x}m`, "cpu")).toBe(value(x, "count"));
        expect(value(x, "cpu")).toBe(value(`${x}e3`, "count"));
        expect(value(`${x}u`, "cpu")).toBe(value(`${x}e-3`, "count"));
      }),
    );
  });

  test("the result is the exact value rounded up", () => {
    fc.assert(
      fc.property(decimal, (x) => {
        const [whole = "", fraction = ""] = x.split(".");
        const exact = BigInt(whole + fraction);
        const scale = 10n ** BigInt(fraction.length);
        const ceil = (exact + scale - 1n) / scale;
        expect(value(x, "count")).toBe(Number(ceil));
        expect(value(`${x}Ki`, "bytes")).toBe(Number((exact * 1024n + scale - 1n) / scale));
      }),
    );
  });

  test("a number parses like its string", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), kinds, (n, kind) => {
        expect(value(n, kind)).toBe(value(String(n), kind));
      }),
    );
  });
});
