import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { LabelSelector } from "./model.ts";
import {
  labelSelectorKey,
  matchesLabelSelector,
  NOTHING_SELECTOR_KEY,
  parseLabelSelector,
} from "./selectors.ts";

function parsed(raw: unknown): LabelSelector | null {
  const result = parseLabelSelector(raw, ["selector"]);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.selector;
}

describe("matchesLabelSelector", () => {
  const labels = { app: "web", tier: "front", env: "prod" };

  test.each<[string, unknown, boolean]>([
    ["empty selector matches everything", {}, true],
    ["matchLabels hit", { matchLabels: { app: "web" } }, true],
    ["matchLabels miss", { matchLabels: { app: "db" } }, false],
    ["matchLabels on a missing key", { matchLabels: { team: "a" } }, false],
    ["In", { matchExpressions: [{ key: "tier", operator: "In", values: ["front", "back"] }] }, true],
    ["In miss", { matchExpressions: [{ key: "tier", operator: "In", values: ["back"] }] }, false],
    ["In on a missing key", { matchExpressions: [{ key: "team", operator: "In", values: ["a"] }] }, false],
    ["NotIn", { matchExpressions: [{ key: "env", operator: "NotIn", values: ["dev"] }] }, true],
    ["NotIn hit", { matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, false],
    [
      "NotIn on a missing key",
      { matchExpressions: [{ key: "team", operator: "NotIn", values: ["a"] }] },
      true,
    ],
    ["Exists", { matchExpressions: [{ key: "app", operator: "Exists" }] }, true],
    ["Exists on a missing key", { matchExpressions: [{ key: "team", operator: "Exists" }] }, false],
    ["DoesNotExist", { matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, true],
    ["DoesNotExist hit", { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, false],
    [
      "matchLabels AND expressions",
      { matchLabels: { app: "web" }, matchExpressions: [{ key: "env", operator: "In", values: ["dev"] }] },
      false,
    ],
  ])("%s", (_name, raw, expected) => {
    expect(matchesLabelSelector(parsed(raw), labels)).toBe(expected);
  });

  test("an absent selector matches nothing", () => {
    expect(parsed(null)).toBeNull();
    expect(matchesLabelSelector(null, labels)).toBe(false);
    expect(matchesLabelSelector(undefined, {})).toBe(false);
  });

  test("inherited object keys are not labels", () => {
    const selector = parsed({ matchExpressions: [{ key: "toString", operator: "Exists" }] });
    expect(matchesLabelSelector(selector, {})).toBe(false);
  });
});

describe("parseLabelSelector errors", () => {
  test.each<[string, unknown, (string | number)[]]>([
    ["not an object", "app=web", []],
    ["matchLabels not a map", { matchLabels: ["app"] }, ["matchLabels"]],
    ["bad matchLabels key", { matchLabels: { "bad key": "x" } }, ["matchLabels", "bad key"]],
    ["bad matchLabels value", { matchLabels: { app: "has space" } }, ["matchLabels", "app"]],
    ["value too long", { matchLabels: { app: "a".repeat(64) } }, ["matchLabels", "app"]],
    [
      "In without values",
      { matchExpressions: [{ key: "app", operator: "In" }] },
      ["matchExpressions", 0, "values"],
    ],
    [
      "Exists with values",
      { matchExpressions: [{ key: "app", operator: "Exists", values: ["x"] }] },
      ["matchExpressions", 0, "values"],
    ],
    [
      "unknown operator (Gt is not for label selectors)",
      { matchExpressions: [{ key: "app", operator: "Gt", values: ["1"] }] },
      ["matchExpressions", 0, "operator"],
    ],
    [
      "bad expression key",
      { matchExpressions: [{ key: "", operator: "Exists" }] },
      ["matchExpressions", 0, "key"],
    ],
    [
      "bad expression value",
      { matchExpressions: [{ key: "app", operator: "In", values: ["-x"] }] },
      ["matchExpressions", 0, "values", 0],
    ],
    ["expressions not a list", { matchExpressions: { key: "app" } }, ["matchExpressions"]],
  ])("%s", (_name, raw, subPath) => {
    const result = parseLabelSelector(raw, ["spec", "selector"]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.every((e) => e.code === "invalid_label_selector")).toBe(true);
    expect(result.errors.map((e) => e.path)).toContainEqual(["spec", "selector", ...subPath]);
  });

  test("empty values are allowed label values", () => {
    expect(parsed({ matchLabels: { app: "" } })).toEqual({ matchLabels: { app: "" }, matchExpressions: [] });
  });
});

describe("labelSelectorKey", () => {
  test("canonical Kubernetes-style form", () => {
    const selector = parsed({
      matchLabels: { tier: "front" },
      matchExpressions: [
        { key: "env", operator: "NotIn", values: ["qa", "dev", "qa"] },
        { key: "app", operator: "Exists" },
        { key: "zz", operator: "DoesNotExist" },
        { key: "app", operator: "In", values: ["web"] },
      ],
    });
    expect(labelSelectorKey(selector)).toBe("app,app in (web),env notin (dev,qa),tier in (front),!zz");
  });

  test("empty and absent differ", () => {
    expect(labelSelectorKey(parsed({}))).toBe("");
    expect(labelSelectorKey(null)).toBe(NOTHING_SELECTOR_KEY);
  });

  test("matchLabels and an equivalent In expression group together", () => {
    expect(labelSelectorKey(parsed({ matchLabels: { app: "web" } }))).toBe(
      labelSelectorKey(parsed({ matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] })),
    );
  });

  const expr = fc.record({
    key: fc.constantFrom("app", "env", "example.com/team"),
    operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist") as fc.Arbitrary<
      "In" | "NotIn" | "Exists" | "DoesNotExist"
    >,
    values: fc.uniqueArray(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 3 }),
  });
  const selectorArb = fc.record({
    matchLabels: fc.dictionary(fc.constantFrom("app", "env", "tier"), fc.constantFrom("a", "b")),
    matchExpressions: fc.array(
      expr.map((e) => (e.operator === "Exists" || e.operator === "DoesNotExist" ? { ...e, values: [] } : e)),
      { maxLength: 4 },
    ),
  });
  const labelsArb = fc.dictionary(
    fc.constantFrom("app", "env", "tier", "example.com/team"),
    fc.constantFrom("a", "b", "c"),
  );

  test("the key ignores order, and selectors with one key match the same labels", () => {
    fc.assert(
      fc.property(selectorArb, fc.array(labelsArb, { maxLength: 8 }), (s, labelSets) => {
        const shuffled: LabelSelector = {
          matchLabels: Object.fromEntries(Object.entries(s.matchLabels).reverse()),
          matchExpressions: [...s.matchExpressions]
            .reverse()
            .map((e) => ({ ...e, values: [...e.values].reverse() })),
        };
        expect(labelSelectorKey(shuffled)).toBe(labelSelectorKey(s));
        for (const labels of labelSets) {
          expect(matchesLabelSelector(shuffled, labels)).toBe(matchesLabelSelector(s, labels));
        }
      }),
    );
  });
});
