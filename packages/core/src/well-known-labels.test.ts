import { describe, expect, test } from "vitest";
import {
  extendWellKnownLabels,
  isQualifiedName,
  isValidLabelValue,
  normalizeLabelKey,
  validateNodePoolLabelKey,
  WELL_KNOWN_LABELS,
} from "./well-known-labels.ts";

describe("well-known labels", () => {
  test("Karpenter core's set, sorted and frozen", () => {
    expect(WELL_KNOWN_LABELS).toEqual([
      "karpenter.sh/capacity-type",
      "karpenter.sh/nodepool",
      "kubernetes.io/arch",
      "kubernetes.io/os",
      "node.kubernetes.io/instance-type",
      "node.kubernetes.io/windows-build",
      "topology.kubernetes.io/region",
      "topology.kubernetes.io/zone",
    ]);
    expect(Object.isFrozen(WELL_KNOWN_LABELS)).toBe(true);
  });

  test("a provider extends them", () => {
    const aws = extendWellKnownLabels([
      "topology.k8s.aws/zone-id",
      "karpenter.k8s.aws/instance-family",
      "kubernetes.io/os",
    ]);
    expect(aws).toContain("karpenter.k8s.aws/instance-family");
    expect(aws.length).toBe(WELL_KNOWN_LABELS.length + 2);
    expect([...aws].sort()).toEqual(aws);
    expect(Object.isFrozen(aws)).toBe(true);
  });

  test("deprecated keys normalize", () => {
    expect(normalizeLabelKey("beta.kubernetes.io/instance-type")).toBe("node.kubernetes.io/instance-type");
    expect(normalizeLabelKey("failure-domain.beta.kubernetes.io/region")).toBe(
      "topology.kubernetes.io/region",
    );
    expect(normalizeLabelKey("team")).toBe("team");
    expect(normalizeLabelKey("constructor")).toBe("constructor");
  });
});

describe("label syntax", () => {
  test.each<[string, boolean]>([
    ["app", true],
    ["example.com/app", true],
    ["a.b-c/x_y.z", true],
    ["Upper/x", false],
    ["/x", false],
    ["x/", false],
    ["a/b/c", false],
    ["-x", false],
    ["x".repeat(63), true],
    ["x".repeat(64), false],
    ["", false],
  ])("qualified name %s -> %s", (key, ok) => {
    expect(isQualifiedName(key)).toBe(ok);
  });

  test.each<[string, boolean]>([
    ["", true],
    ["v1.2_3-x", true],
    ["x y", false],
    ["_x", false],
    ["x".repeat(64), false],
  ])("label value %s -> %s", (value, ok) => {
    expect(isValidLabelValue(value)).toBe(ok);
  });
});

describe("validateNodePoolLabelKey (Karpenter's restricted labels)", () => {
  test.each<[string, boolean]>([
    ["karpenter.sh/capacity-type", true],
    ["topology.kubernetes.io/zone", true],
    ["team", true],
    ["example.com/team", true],
    ["node.kubernetes.io/instance-type", true],
    ["karpenter.sh/nodepool", false],
    ["karpenter.sh/custom", false],
    ["sub.karpenter.sh/custom", false],
    ["kubernetes.io/hostname", false],
    ["not a key", false],
  ])("%s -> %s", (key, ok) => {
    expect(validateNodePoolLabelKey(key, ["spec", "requirements", 0, "key"]).ok).toBe(ok);
  });

  test("errors are data with the given path; labels use invalid_schema", () => {
    const result = validateNodePoolLabelKey("karpenter.sh/custom", ["spec", "requirements", 2, "key"]);
    expect(result).toMatchObject({
      ok: false,
      error: {
        code: "invalid_requirement",
        path: ["spec", "requirements", 2, "key"],
        value: "karpenter.sh/custom",
      },
    });
    const label = validateNodePoolLabelKey("kubernetes.io/hostname", ["labels"], { usage: "label" });
    expect(label).toMatchObject({ ok: false, error: { code: "invalid_schema" } });
  });

  test("a provider's restricted domain and its well-known labels", () => {
    const rules = {
      restrictedDomains: ["karpenter.sh", "karpenter.k8s.aws"],
      wellKnownLabels: extendWellKnownLabels(["karpenter.k8s.aws/instance-family"]),
    };
    expect(validateNodePoolLabelKey("karpenter.k8s.aws/instance-family", [], rules).ok).toBe(true);
    expect(validateNodePoolLabelKey("karpenter.k8s.aws/ec2nodeclass", [], rules).ok).toBe(false);
    expect(validateNodePoolLabelKey("karpenter.k8s.aws/ec2nodeclass").ok).toBe(true);
  });
});
