import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { NodeSelectorRequirement } from "./model.ts";
import {
  checkMinValues,
  compatible,
  intersect,
  intersects,
  matchesNodeSelectorRequirement,
  matchesNodeSelectorTerms,
  minValuesPrefixLength,
  type NodeSelectorRequirementInput,
  parseLabelInteger,
  parseNodeSelectorRequirements,
  Requirement,
  Requirements,
  validateNodeSelectorRequirement,
} from "./requirements.ts";
import { WELL_KNOWN_LABEL_SET } from "./well-known-labels.ts";

const req = (key: string, operator: NodeSelectorRequirementInput["operator"], ...values: string[]) =>
  Requirement.fromNodeSelector({ key, operator, values });
const reqs = (...list: NodeSelectorRequirementInput[]) => Requirements.fromNodeSelectorRequirements(list);

/** The admitted members of `universe`, for comparing requirements as sets. */
const admitted = (r: Requirement, universe: readonly string[]) => universe.filter((v) => r.has(v));

const UNIVERSE = [
  "a",
  "b",
  "c",
  "x",
  "-1",
  "0",
  "1",
  "2",
  "3",
  "4",
  "5",
  "6",
  "7",
  "8",
  "9",
  "10",
  "+5",
  "05",
  "1.5",
];

describe("Requirement from operators (Karpenter's NewRequirement)", () => {
  test.each<[string, NodeSelectorRequirementInput["operator"], string[], string, string[]]>([
    ["In", "In", ["a", "b"], "In", ["a", "b"]],
    ["NotIn", "NotIn", ["a"], "NotIn", ["b", "c", "x", "0", "5"]],
    ["Exists", "Exists", [], "Exists", ["a", "b", "0", "1.5"]],
    ["DoesNotExist", "DoesNotExist", [], "DoesNotExist", []],
    ["Gt 4", "Gt", ["4"], "Exists", ["5", "6", "10", "+5", "05"]],
    ["Lt 2", "Lt", ["2"], "Exists", ["-1", "0", "1"]],
    ["Gte 4", "Gte", ["4"], "Exists", ["4", "5", "10"]],
    ["Lte 2", "Lte", ["2"], "Exists", ["-1", "0", "1", "2"]],
  ])("%s", (_name, operator, values, derived, admits) => {
    const r = req("k", operator, ...values);
    expect(r.operator()).toBe(derived);
    for (const v of admits) expect(r.has(v), v).toBe(true);
    const rejected = UNIVERSE.filter((v) => !admits.includes(v));
    if (operator === "In" || operator === "DoesNotExist") {
      for (const v of rejected) expect(r.has(v), v).toBe(false);
    }
  });

  test("Gt and Lt reject values that are not integers", () => {
    expect(req("k", "Gt", "4").has("x")).toBe(false);
    expect(req("k", "Gt", "4").has("5.0")).toBe(false);
    expect(req("k", "Lt", "4").has("")).toBe(false);
    expect(req("k", "Gt", "4").has("99999999999999999999")).toBe(false); // beyond int64, as Go's Atoi
  });

  test("Gte/Lte are Gt n-1 / Lt n+1", () => {
    expect(req("k", "Gte", "4").greaterThan).toBe(3);
    expect(req("k", "Lte", "4").lessThan).toBe(5);
    expect(req("k", "Gt", "4").greaterThan).toBe(4);
  });

  test("deprecated keys are normalized", () => {
    expect(req("beta.kubernetes.io/arch", "In", "arm64").key).toBe("kubernetes.io/arch");
    expect(req("failure-domain.beta.kubernetes.io/zone", "In", "a").key).toBe("topology.kubernetes.io/zone");
  });

  test("len, values, any", () => {
    expect(req("k", "In", "b", "a").len()).toBe(2);
    expect(req("k", "In", "b", "a").values()).toEqual(["a", "b"]);
    expect(req("k", "In", "b", "a").any()).toBe("a");
    expect(req("k", "NotIn", "a").len()).toBe(Number.POSITIVE_INFINITY);
    expect(req("k", "NotIn", "a").values()).toBeUndefined();
    expect(req("k", "NotIn", "a").excluded()).toEqual(["a"]);
    expect(req("k", "DoesNotExist").any()).toBeUndefined();
    expect(req("k", "Exists").any()).toBe("0");
    expect(
      req("k", "Gt", "4")
        .intersection(req("k", "NotIn", "5", "6"))
        .any(),
    ).toBe("7");
    expect(req("k", "Lt", "-3").any()).toBe("-4");
    expect(
      req("k", "Gt", "4")
        .intersection(req("k", "Lt", "7"))
        .intersection(req("k", "NotIn", "5", "6"))
        .any(),
    ).toBe(undefined);
  });
});

describe("Requirement.intersection", () => {
  test.each<[string, Requirement, Requirement, string, string[]]>([
    ["In ∩ NotIn", req("k", "In", "a", "b"), req("k", "NotIn", "a"), "In", ["b"]],
    ["In ∩ In disjoint", req("k", "In", "a"), req("k", "In", "b"), "DoesNotExist", []],
    ["In ∩ In overlapping", req("k", "In", "a", "b"), req("k", "In", "b", "c"), "In", ["b"]],
    ["Exists ∩ DoesNotExist", req("k", "Exists"), req("k", "DoesNotExist"), "DoesNotExist", []],
    ["NotIn ∩ NotIn", req("k", "NotIn", "a"), req("k", "NotIn", "b"), "NotIn", ["c", "x", "5"]],
    ["Gt 4 ∩ Lt 8", req("k", "Gt", "4"), req("k", "Lt", "8"), "Exists", ["5", "6", "7"]],
    ["Gt 8 ∩ Lt 4", req("k", "Gt", "8"), req("k", "Lt", "4"), "DoesNotExist", []],
    ["Gt 4 ∩ Lt 5 (no integer between)", req("k", "Gt", "4"), req("k", "Lt", "5"), "DoesNotExist", []],
    ["Gte 4 ∩ Lte 4", req("k", "Gte", "4"), req("k", "Lte", "4"), "Exists", ["4"]],
    ["In with non-integers ∩ Gt", req("k", "In", "a", "5", "3"), req("k", "Gt", "4"), "In", ["5"]],
    ["NotIn ∩ Gt keeps bounds", req("k", "NotIn", "6", "a"), req("k", "Gt", "4"), "NotIn", ["5", "7", "10"]],
  ])("%s", (_name, a, b, operator, admits) => {
    for (const r of [a.intersection(b), b.intersection(a)]) {
      expect(r.operator()).toBe(operator);
      expect(admitted(r, UNIVERSE).filter((v) => admits.includes(v))).toEqual(admits);
      for (const v of UNIVERSE) if (r.has(v)) expect(a.has(v) && b.has(v), v).toBe(true);
    }
  });

  test("bounds only survive on complements, and out-of-bound exclusions are dropped", () => {
    const finite = req("k", "In", "5", "9").intersection(req("k", "Gt", "4"));
    expect(finite.greaterThan).toBeUndefined();
    const open = req("k", "NotIn", "2", "6").intersection(req("k", "Gt", "4"));
    expect(open.greaterThan).toBe(4);
    expect(open.excluded()).toEqual(["6"]);
  });

  test("minValues takes the larger", () => {
    const a = Requirement.in("k", ["a", "b", "c"], 2);
    const b = Requirement.exists("k", 3);
    expect(a.intersection(b).minValues).toBe(3);
    expect(a.intersection(Requirement.exists("k")).minValues).toBe(2);
  });
});

describe("conversion back to node selector requirements", () => {
  test.each<[string, Requirement, NodeSelectorRequirement[]]>([
    ["In", req("k", "In", "b", "a"), [{ key: "k", operator: "In", values: ["a", "b"] }]],
    ["NotIn", req("k", "NotIn", "a"), [{ key: "k", operator: "NotIn", values: ["a"] }]],
    ["Exists", req("k", "Exists"), [{ key: "k", operator: "Exists", values: [] }]],
    ["DoesNotExist", req("k", "DoesNotExist"), [{ key: "k", operator: "DoesNotExist", values: [] }]],
    ["Gt 4", req("k", "Gt", "4"), [{ key: "k", operator: "Gte", values: ["5"] }]],
    [
      "Gt 4 ∩ Lt 9 ∩ NotIn 6",
      req("k", "Gt", "4")
        .intersection(req("k", "Lt", "9"))
        .intersection(req("k", "NotIn", "6")),
      [
        { key: "k", operator: "Gte", values: ["5"] },
        { key: "k", operator: "Lte", values: ["8"] },
        { key: "k", operator: "NotIn", values: ["6"] },
      ],
    ],
    ["minValues", Requirement.in("k", ["a"], 1), [{ key: "k", operator: "In", values: ["a"], minValues: 1 }]],
  ])("%s", (_name, r, expected) => {
    expect(r.toNodeSelectorRequirements()).toEqual(expected);
  });

  test("the single Karpenter form prefers a bound", () => {
    const r = req("k", "Gt", "4").intersection(req("k", "Lt", "9"));
    expect(r.toNodeSelectorRequirement()).toEqual({ key: "k", operator: "Gte", values: ["5"] });
  });
});

describe("Requirements", () => {
  test("repeated keys intersect; iteration is sorted", () => {
    const r = reqs(
      { key: "z", operator: "Exists" },
      { key: "a", operator: "In", values: ["1", "2"] },
      { key: "a", operator: "NotIn", values: ["1"] },
    );
    expect(r.keys()).toEqual(["a", "z"]);
    expect([...r].map((x) => x.key)).toEqual(["a", "z"]);
    expect(r.get("a").values()).toEqual(["2"]);
    expect(r.get("missing").operator()).toBe("Exists");
    expect(r.find("missing")).toBeUndefined();
    expect(r.toString()).toBe("a In [2], z Exists");
  });

  test("from labels, labels() returns single-valued keys", () => {
    const r = intersect(
      Requirements.fromLabels({ team: "a", "kubernetes.io/arch": "amd64" }),
      reqs({ key: "zone", operator: "In", values: ["x", "y"] }, { key: "gpu", operator: "DoesNotExist" }),
    );
    expect(r.labels()).toEqual({ "kubernetes.io/arch": "amd64", team: "a" });
    expect(Object.keys(r.labels())).toEqual(["kubernetes.io/arch", "team"]);
  });

  test("intersect is immutable", () => {
    const a = reqs({ key: "k", operator: "In", values: ["a", "b"] });
    const b = reqs({ key: "k", operator: "In", values: ["b"] });
    const c = intersect(a, b);
    expect(a.get("k").values()).toEqual(["a", "b"]);
    expect(c.get("k").values()).toEqual(["b"]);
  });
});

describe("intersects", () => {
  test.each<[string, NodeSelectorRequirementInput, NodeSelectorRequirementInput, boolean]>([
    [
      "In vs In overlapping",
      { key: "k", operator: "In", values: ["a"] },
      { key: "k", operator: "In", values: ["a", "b"] },
      true,
    ],
    [
      "In vs In disjoint",
      { key: "k", operator: "In", values: ["a"] },
      { key: "k", operator: "In", values: ["b"] },
      false,
    ],
    [
      "In vs NotIn same",
      { key: "k", operator: "In", values: ["a"] },
      { key: "k", operator: "NotIn", values: ["a"] },
      false,
    ],
    [
      "NotIn vs DoesNotExist",
      { key: "k", operator: "NotIn", values: ["a"] },
      { key: "k", operator: "DoesNotExist" },
      true,
    ],
    [
      "DoesNotExist vs DoesNotExist",
      { key: "k", operator: "DoesNotExist" },
      { key: "k", operator: "DoesNotExist" },
      true,
    ],
    [
      "Exists vs DoesNotExist",
      { key: "k", operator: "Exists" },
      { key: "k", operator: "DoesNotExist" },
      false,
    ],
    [
      "Gt vs DoesNotExist",
      { key: "k", operator: "Gt", values: ["1"] },
      { key: "k", operator: "DoesNotExist" },
      false,
    ],
    [
      "Gt 8 vs Lt 4",
      { key: "k", operator: "Gt", values: ["8"] },
      { key: "k", operator: "Lt", values: ["4"] },
      false,
    ],
    [
      "Gt 4 vs In 5",
      { key: "k", operator: "Gt", values: ["4"] },
      { key: "k", operator: "In", values: ["5"] },
      true,
    ],
    [
      "Gt 4 vs In x",
      { key: "k", operator: "Gt", values: ["4"] },
      { key: "k", operator: "In", values: ["x"] },
      false,
    ],
  ])("%s", (_name, a, b, ok) => {
    expect(intersects(reqs(a), reqs(b)).ok).toBe(ok);
    expect(intersects(reqs(b), reqs(a)).ok).toBe(ok);
  });

  test("reports the first conflicting key as data", () => {
    const node = reqs(
      { key: "b", operator: "In", values: ["1"] },
      { key: "a", operator: "In", values: ["x"] },
    );
    const pod = reqs(
      { key: "b", operator: "In", values: ["2"] },
      { key: "a", operator: "In", values: ["y"] },
    );
    expect(intersects(node, pod)).toEqual({
      ok: false,
      reason: {
        code: "no_intersection",
        key: "a",
        podRequirement: [{ key: "a", operator: "In", values: ["y"] }],
        nodeRequirement: [{ key: "a", operator: "In", values: ["x"] }],
      },
    });
  });
});

describe("compatible (node side, pod side)", () => {
  const zone = "topology.kubernetes.io/zone";
  const opts = { allowUndefined: WELL_KNOWN_LABEL_SET };
  const node = reqs(
    { key: zone, operator: "In", values: ["a", "b"] },
    { key: "team", operator: "In", values: ["x"] },
  );

  test.each<[string, NodeSelectorRequirementInput, boolean, string | undefined]>([
    ["Exists on a defined custom label", { key: "team", operator: "Exists" }, true, undefined],
    [
      "DoesNotExist on a defined custom label",
      { key: "team", operator: "DoesNotExist" },
      false,
      "no_intersection",
    ],
    ["Exists on an undefined custom label", { key: "gpu", operator: "Exists" }, false, "undefined_label"],
    [
      "In on an undefined custom label",
      { key: "gpu", operator: "In", values: ["yes"] },
      false,
      "undefined_label",
    ],
    [
      "NotIn on an undefined custom label",
      { key: "gpu", operator: "NotIn", values: ["yes"] },
      true,
      undefined,
    ],
    ["DoesNotExist on an undefined custom label", { key: "gpu", operator: "DoesNotExist" }, true, undefined],
    [
      "In on an undefined well-known label",
      { key: "kubernetes.io/arch", operator: "In", values: ["arm64"] },
      true,
      undefined,
    ],
    [
      "Exists on an undefined well-known label",
      { key: "kubernetes.io/arch", operator: "Exists" },
      true,
      undefined,
    ],
    [
      "In on a defined well-known label, overlapping",
      { key: zone, operator: "In", values: ["b", "c"] },
      true,
      undefined,
    ],
    [
      "In on a defined well-known label, disjoint",
      { key: zone, operator: "In", values: ["c"] },
      false,
      "no_intersection",
    ],
    [
      "hostname is not well known",
      { key: "kubernetes.io/hostname", operator: "In", values: ["n1"] },
      false,
      "undefined_label",
    ],
  ])("%s", (_name, podReq, ok, code) => {
    const result = compatible(node, reqs(podReq), opts);
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.reason.code).toBe(code);
  });

  test("without allowUndefined a well-known label must be defined too", () => {
    expect(compatible(node, reqs({ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] })).ok).toBe(
      false,
    );
  });

  test("undefined labels carry a typo hint", () => {
    const result = compatible(
      node,
      reqs({ key: "topology.kubernetes.io/zon", operator: "In", values: ["a"] }),
      opts,
    );
    expect(result).toEqual({
      ok: false,
      reason: {
        code: "undefined_label",
        key: "topology.kubernetes.io/zon",
        podRequirement: [{ key: "topology.kubernetes.io/zon", operator: "In", values: ["a"] }],
        didYouMean: zone,
      },
    });
  });
});

describe("minValues", () => {
  const family = "karpenter.k8s.aws/instance-family";
  const candidates = [
    { labels: { [family]: "m5", size: "large" } },
    { labels: { [family]: "c5", size: "large" } },
    { labels: { [family]: "m5", size: "xlarge" } },
  ];

  test("3 families required, 2 present -> reported", () => {
    const r = Requirements.of([Requirement.exists(family, 3), Requirement.exists("size", 2)]);
    expect(checkMinValues(r, candidates)).toEqual([{ key: family, minValues: 3, available: 2 }]);
    expect(minValuesPrefixLength(r, candidates)).toBeUndefined();
  });

  test("met minValues report nothing; the prefix is the shortest that meets them", () => {
    const r = Requirements.of([Requirement.exists(family, 2), Requirement.exists("size", 2)]);
    expect(checkMinValues(r, candidates)).toEqual([]);
    expect(minValuesPrefixLength(r, candidates)).toBe(3);
    expect(minValuesPrefixLength(Requirements.of([Requirement.exists(family, 2)]), candidates)).toBe(2);
    expect(minValuesPrefixLength(Requirements.EMPTY, candidates)).toBe(0);
  });

  test("only values the requirement admits count; requirement sets count too", () => {
    const r = Requirements.of([Requirement.notIn(family, ["c5"], 2)]);
    expect(checkMinValues(r, candidates)).toEqual([{ key: family, minValues: 2, available: 1 }]);
    const zones = Requirements.of([Requirement.exists("zone", 3)]);
    const withSets = [{ requirements: reqs({ key: "zone", operator: "In", values: ["a", "b", "c"] }) }];
    expect(checkMinValues(zones, withSets)).toEqual([]);
  });
});

describe("node selector terms against labels (Kubernetes)", () => {
  const labels = { "kubernetes.io/arch": "amd64", cpu: "8" };
  test.each<[string, NodeSelectorRequirementInput, boolean]>([
    ["In", { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }, true],
    ["NotIn absent", { key: "gpu", operator: "NotIn", values: ["x"] }, true],
    ["NotIn present", { key: "kubernetes.io/arch", operator: "NotIn", values: ["amd64"] }, false],
    ["Exists", { key: "cpu", operator: "Exists" }, true],
    ["DoesNotExist", { key: "cpu", operator: "DoesNotExist" }, false],
    ["Gt", { key: "cpu", operator: "Gt", values: ["4"] }, true],
    ["Lt", { key: "cpu", operator: "Lt", values: ["8"] }, false],
    ["Gte", { key: "cpu", operator: "Gte", values: ["8"] }, true],
    ["Lte", { key: "cpu", operator: "Lte", values: ["7"] }, false],
    ["Gt non-integer label", { key: "kubernetes.io/arch", operator: "Gt", values: ["1"] }, false],
  ])("%s", (_name, r, ok) => {
    expect(matchesNodeSelectorRequirement(labels, r)).toBe(ok);
  });

  test("terms are ORed, expressions ANDed; empty terms match nothing", () => {
    const amd = { key: "kubernetes.io/arch", operator: "In" as const, values: ["amd64"] };
    const arm = { key: "kubernetes.io/arch", operator: "In" as const, values: ["arm64"] };
    const big = { key: "cpu", operator: "Gt" as const, values: ["16"] };
    expect(matchesNodeSelectorTerms(labels, [{ matchExpressions: [arm] }, { matchExpressions: [amd] }])).toBe(
      true,
    );
    expect(matchesNodeSelectorTerms(labels, [{ matchExpressions: [amd, big] }])).toBe(false);
    expect(matchesNodeSelectorTerms(labels, [])).toBe(false);
    expect(matchesNodeSelectorTerms(labels, [{ matchExpressions: [] }])).toBe(false);
  });
});

describe("parsing and validation", () => {
  test("valid requirements pass through", () => {
    const parsed = parseNodeSelectorRequirements(
      [
        { key: "kubernetes.io/arch", operator: "In", values: ["amd64"], minValues: 1 },
        { key: "gpu", operator: "DoesNotExist" },
        { key: "cpu", operator: "Gt", values: ["-4"] },
      ],
      ["spec", "requirements"],
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.requirements.keys()).toEqual(["cpu", "gpu", "kubernetes.io/arch"]);
  });

  test.each<[string, unknown, (string | number)[]]>([
    ["In without values", { key: "k", operator: "In" }, ["values"]],
    ["NotIn with empty values", { key: "k", operator: "NotIn", values: [] }, ["values"]],
    ["Exists with values", { key: "k", operator: "Exists", values: ["a"] }, ["values"]],
    ["DoesNotExist with values", { key: "k", operator: "DoesNotExist", values: ["a"] }, ["values"]],
    ["Gt without value", { key: "k", operator: "Gt", values: [] }, ["values"]],
    ["Gt with two values", { key: "k", operator: "Gt", values: ["1", "2"] }, ["values"]],
    ["Lt not an integer", { key: "k", operator: "Lt", values: ["1.5"] }, ["values", 0]],
    ["Gte beyond 2^53", { key: "k", operator: "Gte", values: ["9007199254740993"] }, ["values", 0]],
    ["unknown operator", { key: "k", operator: "Like", values: ["a"] }, ["operator"]],
    ["bad key", { key: "-bad-", operator: "Exists" }, ["key"]],
    ["key with two slashes", { key: "a/b/c", operator: "Exists" }, ["key"]],
    ["minValues too large", { key: "k", operator: "Exists", minValues: 51 }, ["minValues"]],
    ["minValues above In values", { key: "k", operator: "In", values: ["a"], minValues: 2 }, ["minValues"]],
    ["non-string value", { key: "k", operator: "In", values: [3] }, ["values", 0]],
    ["not an object", "k In a", []],
  ])("%s", (_name, raw, subPath) => {
    const parsed = parseNodeSelectorRequirements([{ key: "ok", operator: "Exists" }, raw], ["reqs"]);
    expect(parsed.errors.length).toBeGreaterThan(0);
    expect(parsed.errors.every((e) => e.code === "invalid_requirement")).toBe(true);
    expect(parsed.errors.map((e) => e.path)).toContainEqual(["reqs", 1, ...subPath]);
    expect(parsed.requirements.keys()).toEqual(["ok"]);
  });

  test("single validation returns the typed requirement", () => {
    expect(validateNodeSelectorRequirement({ key: "k", operator: "Lt", values: ["3"] })).toEqual({
      ok: true,
      value: { key: "k", operator: "Lt", values: ["3"] },
    });
  });

  test("parseLabelInteger follows Go's Atoi", () => {
    expect(parseLabelInteger("+5")).toBe(5);
    expect(parseLabelInteger("-05")).toBe(-5);
    expect(parseLabelInteger("9223372036854775807")).toBe(Number(9223372036854775807n));
    expect(parseLabelInteger("9223372036854775808")).toBeUndefined();
    expect(parseLabelInteger("1_000")).toBeUndefined();
    expect(parseLabelInteger(" 1")).toBeUndefined();
    expect(parseLabelInteger("")).toBeUndefined();
  });
});

// Property tests over a small alphabet so that random requirements collide often.
const KEYS = ["a", "b", "custom", "kubernetes.io/arch"] as const;
const VALUES = ["x", "y", "z", "1", "3", "5", "7"] as const;
const PROPERTY_UNIVERSE = [
  ...VALUES,
  "w",
  "05",
  "+3",
  ...Array.from({ length: 14 }, (_, i) => String(i - 2)),
];

const arbRequirementOn = (key: string) =>
  fc.oneof(
    fc
      .uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 4 })
      .map((v) => req(key, "In", ...v)),
    fc
      .uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 4 })
      .map((v) => req(key, "NotIn", ...v)),
    fc.constant(req(key, "Exists")),
    fc.constant(req(key, "DoesNotExist")),
    fc
      .tuple(
        fc.constantFrom("Gt", "Lt", "Gte", "Lte") as fc.Arbitrary<"Gt" | "Lt" | "Gte" | "Lte">,
        fc.integer({ min: -1, max: 10 }),
      )
      .map(([op, n]) => req(key, op, String(n))),
  );

/** A requirement, sometimes already the intersection of two, so bounds and exclusions combine. */
const arbRequirement = fc
  .tuple(
    arbRequirementOn("k"),
    fc.option(arbRequirementOn("k"), { nil: undefined }),
    fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  )
  .map(([a, b, minValues]) => (b === undefined ? a : a.intersection(b)).withMinValues(minValues));

const arbRequirements = fc
  .uniqueArray(fc.constantFrom(...KEYS), { maxLength: KEYS.length })
  .chain((keys) => fc.tuple(...keys.map((k) => arbRequirementOn(k))))
  .map((list) => Requirements.of(list));

const sameSet = (a: Requirement, b: Requirement): void => {
  expect(admitted(a, PROPERTY_UNIVERSE)).toEqual(admitted(b, PROPERTY_UNIVERSE));
};

describe("laws of the algebra (property tests)", () => {
  test("intersection is commutative as a set", () => {
    fc.assert(
      fc.property(arbRequirement, arbRequirement, (a, b) => {
        sameSet(a.intersection(b), b.intersection(a));
      }),
    );
  });

  test("intersection is associative as a set", () => {
    fc.assert(
      fc.property(arbRequirement, arbRequirement, arbRequirement, (a, b, c) => {
        sameSet(a.intersection(b).intersection(c), a.intersection(b.intersection(c)));
      }),
    );
  });

  test("intersection admits exactly what both sides admit", () => {
    fc.assert(
      fc.property(arbRequirement, arbRequirement, (a, b) => {
        const ab = a.intersection(b);
        for (const v of PROPERTY_UNIVERSE) expect(ab.has(v), v).toBe(a.has(v) && b.has(v));
      }),
    );
  });

  test("intersection with Exists is the identity", () => {
    fc.assert(
      fc.property(arbRequirement, (a) => {
        const e = Requirement.exists("k");
        sameSet(a.intersection(e), a);
        sameSet(e.intersection(a), a);
        expect(a.intersection(e).operator()).toBe(a.operator());
        expect(a.intersection(e).toNodeSelectorRequirements()).toEqual(a.toNodeSelectorRequirements());
      }),
    );
  });

  test("node selector output round-trips to the same set", () => {
    fc.assert(
      fc.property(arbRequirement, (a) => {
        const back = Requirements.fromNodeSelectorRequirements(a.toNodeSelectorRequirements()).get("k");
        sameSet(back, a);
        expect(back.minValues).toBe(a.minValues);
      }),
    );
  });

  test("a finite non-empty intersection means hasIntersection", () => {
    fc.assert(
      fc.property(arbRequirement, arbRequirement, (a, b) => {
        expect(a.hasIntersection(b)).toBe(b.hasIntersection(a));
        if (admitted(a.intersection(b), PROPERTY_UNIVERSE).length > 0)
          expect(a.hasIntersection(b)).toBe(true);
      }),
    );
  });

  test("intersects is symmetric", () => {
    fc.assert(
      fc.property(arbRequirements, arbRequirements, (a, b) => intersects(a, b).ok === intersects(b, a).ok),
    );
  });

  test("compatible is symmetric when both sides constrain the same keys", () => {
    const sameKeys = fc
      .uniqueArray(fc.constantFrom(...KEYS), { maxLength: KEYS.length })
      .chain((keys) =>
        fc.tuple(
          fc.tuple(...keys.map((k) => arbRequirementOn(k))),
          fc.tuple(...keys.map((k) => arbRequirementOn(k))),
        ),
      )
      .map(([a, b]) => [Requirements.of(a), Requirements.of(b)] as const);
    fc.assert(
      fc.property(sameKeys, ([a, b]) => {
        const opts = { allowUndefined: WELL_KNOWN_LABEL_SET };
        expect(compatible(a, b, opts).ok).toBe(compatible(b, a, opts).ok);
      }),
    );
  });

  test("Requirements intersection is commutative per key", () => {
    fc.assert(
      fc.property(arbRequirements, arbRequirements, (a, b) => {
        const ab = intersect(a, b);
        const ba = intersect(b, a);
        expect(ab.keys()).toEqual(ba.keys());
        for (const key of ab.keys()) {
          expect(admitted(ab.get(key), PROPERTY_UNIVERSE)).toEqual(admitted(ba.get(key), PROPERTY_UNIVERSE));
        }
      }),
    );
  });
});
