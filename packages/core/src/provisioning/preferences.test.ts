import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { type Node, type NodePool, NodePoolSchema, NodeSchema, type Pod, type Taint } from "../model.ts";
import { createSolver, type Solver } from "../solver.ts";
import { toleratesAny } from "../taints.ts";
import { validatePlan } from "../validate/validate-plan.ts";
import { instanceType, NOW, pod } from "./fixtures.test-helper.ts";
import {
  PREFER_NO_SCHEDULE_TOLERATION,
  preferNoScheduleTaints,
  relaxationSteps,
  withPreferences,
} from "./preferences.ts";

const batch: Taint = { key: "example.com/batch", value: "true", effect: "PreferNoSchedule" };
const pool = (name: string, extra: Record<string, unknown> = {}): NodePool =>
  NodePoolSchema.parse({ name, ...extra });
const tainted = pool("tainted", { weight: 100, template: { taints: [batch] } });
const node = (taints: Taint[]): Node =>
  NodeSchema.parse({
    name: "n",
    capacity: { cpuMillis: 4000 },
    allocatable: { cpuMillis: 4000 },
    createdAt: NOW,
    taints,
  });
const prefersZone = pod("p", 100, 0.1, {
  preferredNodeAffinity: [
    {
      weight: 10,
      preference: {
        matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: ["zone-x"] }],
      },
    },
  ],
});

describe("PreferNoSchedule relaxation step", () => {
  test("is on only when a NodePool template carries a PreferNoSchedule taint (Karpenter's NewScheduler)", () => {
    const noisy = node([batch, { key: "hard", effect: "NoSchedule" }]);
    expect(preferNoScheduleTaints([pool("plain")], [noisy])).toEqual([]);
    expect(preferNoScheduleTaints([tainted, pool("plain")], [noisy])).toEqual([batch, batch]);
  });

  test("comes after every preference step, and only for pods that do not tolerate a taint already", () => {
    const taints = preferNoScheduleTaints([tainted], []);
    expect(relaxationSteps(prefersZone)).toBe(1);
    expect(relaxationSteps(prefersZone, taints)).toBe(2);
    expect(relaxationSteps(pod("q", 1, 1), taints)).toBe(1);
    expect(relaxationSteps(pod("q", 1, 1, { tolerations: [{ operator: "Exists" }] }), taints)).toBe(0);
    expect(
      relaxationSteps(pod("q", 1, 1, { tolerations: [{ key: batch.key, operator: "Exists" }] }), taints),
    ).toBe(0);
  });

  test("Respect: preferences first, then the toleration", () => {
    const taints = [batch];
    const level0 = withPreferences(prefersZone, 0, "Respect", taints);
    expect(level0.requiredNodeAffinity).toHaveLength(1);
    expect(level0.tolerations).toEqual([]);
    const level1 = withPreferences(prefersZone, 1, "Respect", taints);
    expect(level1.requiredNodeAffinity).toEqual([]);
    expect(level1.tolerations).toEqual([]);
    const level2 = withPreferences(prefersZone, 2, "Respect", taints);
    expect(level2.requiredNodeAffinity).toEqual([]);
    expect(level2.tolerations).toEqual([PREFER_NO_SCHEDULE_TOLERATION]);
    expect(toleratesAny(level2.tolerations, batch)).toBe(true);
  });

  test("Ignore: preferences are gone from the start, the toleration is still a relaxation step taken last", () => {
    const taints = [batch];
    const level0 = withPreferences(prefersZone, 0, "Ignore", taints);
    expect(level0.requiredNodeAffinity).toEqual([]);
    expect(level0.tolerations).toEqual([]);
    expect(withPreferences(prefersZone, 1, "Ignore", taints).tolerations).toEqual([]);
    expect(withPreferences(prefersZone, 2, "Ignore", taints).tolerations).toEqual([
      PREFER_NO_SCHEDULE_TOLERATION,
    ]);
    const plain = pod("q", 1, 1);
    expect(withPreferences(plain, 0, "Ignore", taints)).toBe(plain);
    expect(withPreferences(plain, 1, "Ignore", taints).tolerations).toEqual([PREFER_NO_SCHEDULE_TOLERATION]);
  });
});

describe("PreferNoSchedule in provisioning", () => {
  let solver: Solver;
  beforeAll(async () => {
    solver = await createSolver();
  });
  const catalog = [
    instanceType("small", 2, 4, 0.1),
    {
      ...instanceType("arm", 2, 4, 0.08),
      labels: {
        "kubernetes.io/arch": "arm64",
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "arm",
      },
    },
  ];

  test("an intolerant pod lands on a tainted NodePool only when no other NodePool can take it, with a warning", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            arm: fc.boolean(),
            tolerates: fc.boolean(),
            cpu: fc.integer({ min: 100, max: 1900 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.boolean(),
        fc.boolean(),
        (specs, plainIsArmOnly, ignore) => {
          const arch = (v: string) => [{ key: "kubernetes.io/arch", operator: "In", values: [v] }];
          const plain = pool("plain", {
            weight: 10,
            template: { requirements: plainIsArmOnly ? arch("arm64") : [] },
          });
          const pods: Pod[] = specs.map((s, i) =>
            pod(`p${i}`, s.cpu, 1, {
              nodeSelector: s.arm ? { "kubernetes.io/arch": "arm64" } : { "kubernetes.io/arch": "amd64" },
              tolerations: s.tolerates ? [{ key: batch.key, operator: "Exists" }] : [],
            }),
          );
          const input = {
            pods,
            nodes: [],
            nodePools: [tainted, plain],
            instanceTypes: catalog,
            now: NOW,
            options: { preferencePolicy: ignore ? ("Ignore" as const) : ("Respect" as const) },
          };
          const plan = solver.provision(input);
          expect(validatePlan(input, plan).violations).toEqual([]);
          expect(plan.unschedulable).toEqual([]);
          const poolOf = new Map(plan.nodeClaims.flatMap((c) => c.pods.map((p) => [p, c.nodePool])));
          specs.forEach((s, i) => {
            // Intolerant pods use the heavier tainted pool only when the plain pool cannot take them
            // (amd64 pods when plain is arm64-only); tolerating pods may share either pool's claims.
            if (s.tolerates) return;
            const plainTakes = !plainIsArmOnly || s.arm;
            expect(poolOf.get(`default/p${i}`)).toBe(plainTakes ? "plain" : "tainted");
          });
          const relaxed = specs.some((s) => !s.tolerates && plainIsArmOnly && !s.arm);
          expect(plan.warnings.some((w) => w.code === "preference_relaxed")).toBe(relaxed);
        },
      ),
      { numRuns: 40 },
    );
  });
});
