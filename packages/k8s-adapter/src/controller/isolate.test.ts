import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { culprits, culpritsAsync } from "./isolate.ts";

describe("culprits", () => {
  it("property: finds exactly the items a failure needs, whatever their positions", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 299 }), { maxLength: 5 }),
        (n, bad) => {
          const items = Array.from({ length: n }, (_, i) => i);
          const poison = new Set(bad.filter((b) => b < n));
          let runs = 0;
          const found = culprits(items, (kept) => {
            runs += 1;
            return kept.some((i) => poison.has(i));
          });
          expect(found.resolved).toBe(true);
          expect(found.culprits.sort((a, b) => a - b)).toEqual([...poison].sort((a, b) => a - b));
          // log2(n) runs per culprit (plus the checks), not n.
          expect(runs).toBeLessThanOrEqual(2 + poison.size * (3 + Math.ceil(Math.log2(Math.max(2, n)))));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a failure that needs no item (the catalog is down) names no culprit", () => {
    expect(culprits([1, 2, 3], () => true)).toEqual({ culprits: [], resolved: false });
  });

  it("a failure that needs two items together names the later one", () => {
    const found = culprits([1, 2, 3, 4], (kept) => kept.includes(2) && kept.includes(3));
    expect(found).toEqual({ culprits: [3], resolved: true });
  });

  it("the async search finds the same culprits as the synchronous one", async () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const fails = (kept: readonly number[]) => kept.includes(17) || kept.includes(83);
    expect(await culpritsAsync(items, fails)).toEqual(culprits(items, fails));
  });
});
