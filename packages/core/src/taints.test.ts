import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { Taint, Toleration } from "./model.ts";
import {
  DISRUPTED_NO_SCHEDULE_TAINT,
  formatTaint,
  parseTaint,
  parseTaints,
  parseToleration,
  parseTolerations,
  toleratesTaint,
  UNREGISTERED_NO_EXECUTE_TAINT,
  untoleratedTaints,
} from "./taints.ts";

const gpu: Taint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };
const gpuNoValue: Taint = { key: "nvidia.com/gpu", effect: "NoSchedule" };
const spot: Taint = { key: "spot", effect: "PreferNoSchedule" };
const evict: Taint = { key: "maintenance", value: "soon", effect: "NoExecute" };

describe("toleratesTaint (Kubernetes rule)", () => {
  test.each<[string, Toleration, Taint, boolean]>([
    ["Exists with no key tolerates everything", { operator: "Exists" }, gpu, true],
    ["Exists with no key tolerates NoExecute too", { operator: "Exists" }, evict, true],
    [
      "Exists with no key but an effect only that effect",
      { operator: "Exists", effect: "NoExecute" },
      gpu,
      false,
    ],
    ["Exists on the key ignores the value", { key: "nvidia.com/gpu", operator: "Exists" }, gpu, true],
    ["Exists on another key", { key: "other", operator: "Exists" }, gpu, false],
    [
      "empty effect matches all effects",
      { key: "maintenance", operator: "Equal", value: "soon" },
      evict,
      true,
    ],
    [
      "effect must match when set",
      { key: "maintenance", operator: "Equal", value: "soon", effect: "NoSchedule" },
      evict,
      false,
    ],
    ["Equal with the same value", { key: "nvidia.com/gpu", operator: "Equal", value: "true" }, gpu, true],
    ["Equal with another value", { key: "nvidia.com/gpu", operator: "Equal", value: "false" }, gpu, false],
    ["Equal without value vs a valued taint", { key: "nvidia.com/gpu", operator: "Equal" }, gpu, false],
    [
      "Equal without value vs a taint without value",
      { key: "nvidia.com/gpu", operator: "Equal" },
      gpuNoValue,
      true,
    ],
    ["operator defaults to Equal", { key: "nvidia.com/gpu", value: "true" }, gpu, true],
    ["default operator compares values", { key: "nvidia.com/gpu" }, gpu, false],
    [
      "PreferNoSchedule tolerated by key",
      { key: "spot", operator: "Exists", effect: "PreferNoSchedule" },
      spot,
      true,
    ],
    [
      "PreferNoSchedule not by a NoSchedule toleration",
      { key: "spot", operator: "Exists", effect: "NoSchedule" },
      spot,
      false,
    ],
  ])("%s", (_name, toleration, taint, expected) => {
    expect(toleratesTaint(toleration, taint)).toBe(expected);
  });
});

describe("untoleratedTaints", () => {
  const taints = [gpu, spot, evict, DISRUPTED_NO_SCHEDULE_TAINT];

  test("checks NoSchedule and NoExecute by default", () => {
    expect(untoleratedTaints(taints, [])).toEqual([gpu, evict, DISRUPTED_NO_SCHEDULE_TAINT]);
    expect(untoleratedTaints(taints, [{ key: "nvidia.com/gpu", operator: "Exists" }])).toEqual([
      evict,
      DISRUPTED_NO_SCHEDULE_TAINT,
    ]);
  });

  test("PreferNoSchedule only when asked", () => {
    const all = { effects: ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const };
    expect(untoleratedTaints(taints, [{ operator: "Exists", effect: "NoSchedule" }], all)).toEqual([
      spot,
      evict,
    ]);
    expect(untoleratedTaints([spot], [], all)).toEqual([spot]);
    expect(untoleratedTaints([spot], [])).toEqual([]);
  });

  test("a wildcard toleration tolerates every taint", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom("a", "b", "example.com/c"),
            value: fc.option(fc.constantFrom("x", "y"), { nil: undefined }),
            effect: fc.constantFrom("NoSchedule", "PreferNoSchedule", "NoExecute") as fc.Arbitrary<
              Taint["effect"]
            >,
          }),
        ),
        (ts) => {
          const all = { effects: ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const };
          expect(untoleratedTaints(ts, [{ operator: "Exists" }], all)).toEqual([]);
          // Adding tolerations never makes more taints untolerated.
          expect(untoleratedTaints(ts, [{ key: "a", operator: "Exists" }]).length).toBeLessThanOrEqual(
            untoleratedTaints(ts, []).length,
          );
        },
      ),
    );
  });

  test("Karpenter's taints", () => {
    expect(formatTaint(DISRUPTED_NO_SCHEDULE_TAINT)).toBe("karpenter.sh/disrupted:NoSchedule");
    expect(formatTaint(UNREGISTERED_NO_EXECUTE_TAINT)).toBe("karpenter.sh/unregistered:NoExecute");
    expect(formatTaint(gpu)).toBe("nvidia.com/gpu=true:NoSchedule");
  });
});

describe("parsing taints", () => {
  test("valid taint; empty value dropped; timeAdded ignored", () => {
    expect(
      parseTaint({ key: "a", value: "", effect: "NoSchedule", timeAdded: "2026-01-01T00:00:00Z" }),
    ).toEqual({
      ok: true,
      value: { key: "a", effect: "NoSchedule" },
    });
  });

  test.each<[string, unknown, (string | number)[]]>([
    ["missing effect", { key: "a" }, ["effect"]],
    ["unknown effect", { key: "a", effect: "NoWay" }, ["effect"]],
    ["bad key", { key: "a b", effect: "NoSchedule" }, ["key"]],
    ["bad value", { key: "a", value: "x y", effect: "NoSchedule" }, ["value"]],
    ["not an object", 3, []],
  ])("%s", (_name, raw, subPath) => {
    const result = parseTaint(raw, ["spec", "taints", 0]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.every((e) => e.code === "invalid_taint")).toBe(true);
    expect(result.errors.map((e) => e.path)).toContainEqual(["spec", "taints", 0, ...subPath]);
  });

  test("duplicate key and effect is rejected, the rest kept", () => {
    const { taints, errors } = parseTaints(
      [
        { key: "a", value: "1", effect: "NoSchedule" },
        { key: "a", value: "2", effect: "NoSchedule" },
        { key: "a", effect: "NoExecute" },
      ],
      ["taints"],
    );
    expect(taints).toEqual([
      { key: "a", value: "1", effect: "NoSchedule" },
      { key: "a", effect: "NoExecute" },
    ]);
    expect(errors.map((e) => [e.code, e.path])).toEqual([["invalid_taint", ["taints", 1]]]);
  });
});

describe("parsing tolerations", () => {
  test("valid tolerations; operator defaults to Equal", () => {
    expect(parseToleration({ key: "a", value: "b" })).toEqual({
      ok: true,
      value: { key: "a", operator: "Equal", value: "b" },
    });
    expect(parseToleration({ operator: "Exists" })).toEqual({ ok: true, value: { operator: "Exists" } });
    expect(
      parseToleration({ key: "a", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }),
    ).toEqual({
      ok: true,
      value: { key: "a", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    });
  });

  test.each<[string, unknown, (string | number)[]]>([
    ["empty key with Equal", { value: "x" }, ["operator"]],
    ["Exists with a value", { key: "a", operator: "Exists", value: "x" }, ["value"]],
    ["unknown operator", { key: "a", operator: "Gt", value: "1" }, ["operator"]],
    ["bad key", { key: "a//b", operator: "Exists" }, ["key"]],
    ["bad value", { key: "a", value: "x y" }, ["value"]],
    ["unknown effect", { key: "a", operator: "Exists", effect: "Never" }, ["effect"]],
    [
      "tolerationSeconds without NoExecute",
      { key: "a", operator: "Exists", tolerationSeconds: 5 },
      ["tolerationSeconds"],
    ],
    [
      "tolerationSeconds not an integer",
      { key: "a", operator: "Exists", effect: "NoExecute", tolerationSeconds: 1.5 },
      ["tolerationSeconds"],
    ],
  ])("%s", (_name, raw, subPath) => {
    const { tolerations, errors } = parseTolerations([{ operator: "Exists" }, raw], ["spec", "tolerations"]);
    expect(tolerations).toEqual([{ operator: "Exists" }]);
    expect(errors.every((e) => e.code === "invalid_toleration")).toBe(true);
    expect(errors.map((e) => e.path)).toContainEqual(["spec", "tolerations", 1, ...subPath]);
  });
});
