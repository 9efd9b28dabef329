import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { checkMinValues, Requirements } from "../requirements.ts";
import { truncateKeepingMinValues } from "./min-values.ts";

const familyMin = (n: number) =>
  Requirements.fromNodeSelectorRequirements([
    { key: "family", operator: "Exists", values: [], minValues: n },
  ]);

describe("truncateKeepingMinValues", () => {
  test("brings in the cheapest option of a missing value and drops the dearest spare one", () => {
    // Options in price order: four of family a, then b, then c.
    const families = ["a", "a", "a", "a", "b", "c", "b"];
    const at = (i: number) => ({ labels: { family: families[i] as string } });
    expect(truncateKeepingMinValues(families.length, 4, at, familyMin(3))).toEqual([0, 1, 4, 5]);
  });

  test("keeps the plain cut when it already meets minValues", () => {
    const families = ["a", "b", "c", "a", "b"];
    const at = (i: number) => ({ labels: { family: families[i] as string } });
    expect(truncateKeepingMinValues(families.length, 3, at, familyMin(3))).toEqual([0, 1, 2]);
  });

  test("undefined when even every option falls short, or the limit is below minValues", () => {
    const families = ["a", "a", "b"];
    const at = (i: number) => ({ labels: { family: families[i] as string } });
    expect(truncateKeepingMinValues(families.length, 2, at, familyMin(3))).toBeUndefined();
    expect(truncateKeepingMinValues(families.length, 1, at, familyMin(2))).toBeUndefined();
  });

  test("only values the requirement admits count", () => {
    const reqs = Requirements.fromNodeSelectorRequirements([
      { key: "family", operator: "In", values: ["a", "c"], minValues: 2 },
    ]);
    const families = ["a", "b", "b", "c"];
    const at = (i: number) => ({ labels: { family: families[i] as string } });
    expect(truncateKeepingMinValues(families.length, 2, at, reqs)).toEqual([0, 3]);
  });

  test("property: the cut is within the limit, meets minValues whenever some cut can, keeps the cheapest spare", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("a", "b", "c", "d", "e"), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        (families, max, min) => {
          const at = (i: number) => ({ labels: { family: families[i] as string } });
          const reqs = familyMin(min);
          const cut = truncateKeepingMinValues(families.length, max, at, reqs);
          const possible = new Set(families).size >= min && max >= min;
          expect(cut !== undefined).toBe(possible);
          if (cut === undefined) return;
          expect(cut.length).toBeLessThanOrEqual(Math.min(max, families.length));
          expect([...cut].sort((a, b) => a - b)).toEqual(cut);
          expect(checkMinValues(reqs, cut.map(at))).toEqual([]);
          // The plain cut is used unchanged whenever it suffices.
          if (
            checkMinValues(
              reqs,
              families.slice(0, max).map((f) => ({ labels: { family: f } })),
            ).length === 0
          )
            expect(cut).toEqual(families.slice(0, max).map((_, i) => i));
        },
      ),
    );
  });
});
