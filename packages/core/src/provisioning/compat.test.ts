import { describe, expect, test } from "vitest";
import {
  DaemonSetSchema,
  type InstanceType,
  type NodeInput,
  NodePoolSchema,
  NodeSchema,
  type NodeSelectorRequirement,
  type Offering,
  type PodInput,
} from "../model.ts";
import {
  constraintsOf,
  daemonSetFits,
  nodeAccepts,
  offeringAccepts,
  poolAccepts,
  requirementConflict,
  untoleratedPoolTaint,
  untoleratedTaint,
} from "./compat.ts";
import { instanceType, NOW, pod } from "./fixtures.test-helper.ts";
import { PREFER_NO_SCHEDULE_TOLERATION } from "./preferences.ts";

/**
 * compat.ts on Karpenter's requirement algebra: each case states what Karpenter's
 * NodeClaimTemplate.Compatible(pod, AllowUndefinedWellKnownLabels) + InstanceType.Intersects (new
 * claims) or Requirements.Compatible (existing nodes, strict) answers.
 */

const plainPool = NodePoolSchema.parse({ name: "default" });
const generic = instanceType("m.large", 2, 8, 0.1);
const gpu: InstanceType = {
  ...instanceType("g.large", 4, 16, 1),
  labels: {
    ...generic.labels,
    "node.kubernetes.io/instance-type": "g.large",
    "karpenter.k8s.aws/instance-gpu-count": "1",
  },
};
const zoneA = generic.offerings[0] as Offering;

function poolWith(requirements: NodeSelectorRequirement[], extra: object = {}) {
  return NodePoolSchema.parse({ name: "p", template: { requirements, ...extra } });
}

function accepts(p: Partial<PodInput>, pool = plainPool, it = generic, o: Offering = zoneA): boolean {
  return offeringAccepts(constraintsOf(pod("x", 100, 0.1, p)), pool, it, o);
}

const affinity = (...matchExpressions: NodeSelectorRequirement[]): Partial<PodInput> => ({
  requiredNodeAffinity: [{ matchExpressions }],
});

describe("pod requirements against a new claim's offering", () => {
  test("Gt/Lt against a NodePool range given as two requirements on one key: they intersect", () => {
    const pool = poolWith([
      { key: "example.com/generation", operator: "Gt", values: ["2"] },
      { key: "example.com/generation", operator: "Lt", values: ["10"] },
    ]);
    expect(poolAccepts(pool, generic, zoneA)).toBe(true);
    // Karpenter: (2, 10) ∩ (-inf, 1) is empty. Before the move only the last NodePool requirement was kept.
    expect(accepts(affinity({ key: "example.com/generation", operator: "Lt", values: ["1"] }), pool)).toBe(
      false,
    );
    expect(accepts(affinity({ key: "example.com/generation", operator: "Gt", values: ["5"] }), pool)).toBe(
      true,
    );
    expect(accepts(affinity({ key: "example.com/generation", operator: "Gt", values: ["9"] }), pool)).toBe(
      false,
    );
    expect(accepts(affinity({ key: "example.com/generation", operator: "In", values: ["4"] }), pool)).toBe(
      true,
    );
    expect(accepts(affinity({ key: "example.com/generation", operator: "In", values: ["10"] }), pool)).toBe(
      false,
    );
  });

  test("a pod's own requirements on one key are intersected before matching", () => {
    const pool = poolWith([{ key: "example.com/tier", operator: "In", values: ["a", "b"] }]);
    // nodeSelector tier=a AND affinity tier In [b]: Karpenter's pod requirement is the empty set.
    const both = {
      nodeSelector: { "example.com/tier": "a" },
      ...affinity({ key: "example.com/tier", operator: "In", values: ["b"] }),
    };
    expect(accepts(both, pool)).toBe(false);
    expect(accepts({ nodeSelector: { "example.com/tier": "a" } }, pool)).toBe(true);
    expect(requirementConflict(constraintsOf(pod("x", 1, 1, both)), pool, generic, zoneA)).toEqual({
      key: "example.com/tier",
      podRequirement: "example.com/tier In a, example.com/tier In b",
      nodePoolRequirement: "example.com/tier In a,b",
    });
  });

  test("provider labels a type lacks read as DoesNotExist", () => {
    const key = "karpenter.k8s.aws/instance-gpu-count";
    expect(accepts(affinity({ key, operator: "DoesNotExist", values: [] }))).toBe(true);
    expect(accepts(affinity({ key, operator: "NotIn", values: ["1"] }))).toBe(true);
    expect(accepts(affinity({ key, operator: "Exists", values: [] }))).toBe(false);
    expect(accepts(affinity({ key, operator: "Gt", values: ["0"] }))).toBe(false);
    const gpuOffering = gpu.offerings[0] as Offering;
    expect(
      accepts(affinity({ key, operator: "DoesNotExist", values: [] }), plainPool, gpu, gpuOffering),
    ).toBe(false);
    expect(accepts(affinity({ key, operator: "Gt", values: ["0"] }), plainPool, gpu, gpuOffering)).toBe(true);
    // A NodePool asking for GPUs leaves out types without them.
    const gpuPool = poolWith([{ key, operator: "Exists", values: [] }]);
    expect(poolAccepts(gpuPool, generic, zoneA)).toBe(false);
    expect(poolAccepts(gpuPool, gpu, gpuOffering)).toBe(true);
  });

  test("well-known labels may be undefined on the node side, custom labels only when absence is allowed", () => {
    const region = { key: "topology.kubernetes.io/region", operator: "In" as const, values: ["us-east-1"] };
    expect(accepts(affinity(region))).toBe(true);
    expect(accepts(affinity({ key: "example.com/team", operator: "In", values: ["a"] }))).toBe(false);
    expect(accepts(affinity({ key: "example.com/team", operator: "NotIn", values: ["a"] }))).toBe(true);
    expect(accepts(affinity({ key: "example.com/team", operator: "DoesNotExist", values: [] }))).toBe(true);
    expect(accepts(affinity({ key: "example.com/team", operator: "Exists", values: [] }))).toBe(false);
    // Defined on the node side, a well-known label must match.
    expect(accepts(affinity({ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] }))).toBe(false);
    expect(accepts({ nodeSelector: { "topology.kubernetes.io/zone": "zone-b" } })).toBe(false);
  });

  test("deprecated label keys mean their well-known key, as in Karpenter", () => {
    expect(accepts({ nodeSelector: { "failure-domain.beta.kubernetes.io/zone": "zone-a" } })).toBe(true);
    expect(accepts({ nodeSelector: { "failure-domain.beta.kubernetes.io/zone": "zone-b" } })).toBe(false);
  });

  test("a new claim's hostname is a placeholder no pod can name", () => {
    const named = { nodeSelector: { "kubernetes.io/hostname": "node-1" } };
    expect(accepts(named)).toBe(false);
    expect(accepts(affinity({ key: "kubernetes.io/hostname", operator: "NotIn", values: ["node-1"] }))).toBe(
      true,
    );
    expect(requirementConflict(constraintsOf(pod("x", 1, 1, named)), plainPool, generic, zoneA)?.key).toBe(
      "kubernetes.io/hostname",
    );
  });

  test("ORed terms: any one compatible term is enough, the first conflict is reported otherwise", () => {
    const terms = {
      requiredNodeAffinity: [
        { matchExpressions: [{ key: "kubernetes.io/arch", operator: "In" as const, values: ["arm64"] }] },
        {
          matchExpressions: [
            { key: "topology.kubernetes.io/zone", operator: "In" as const, values: ["zone-a"] },
          ],
        },
      ],
    };
    expect(accepts(terms)).toBe(true);
    expect(accepts(terms, plainPool, generic, generic.offerings[1] as Offering)).toBe(false);
    expect(
      requirementConflict(
        constraintsOf(pod("x", 1, 1, terms)),
        plainPool,
        generic,
        generic.offerings[1] as Offering,
      ),
    ).toEqual({
      key: "kubernetes.io/arch",
      podRequirement: "kubernetes.io/arch In arm64",
      nodePoolRequirement: "kubernetes.io/arch=amd64 on m.large",
    });
  });
});

describe("existing nodes are matched strictly on their labels", () => {
  const node = (labels: Record<string, string>, extra: Partial<NodeInput> = {}) =>
    NodeSchema.parse({
      name: "n",
      labels,
      capacity: { cpuMillis: 2000 },
      allocatable: { cpuMillis: 2000 },
      createdAt: NOW,
      ...extra,
    });
  const c = (p: Partial<PodInput>) => constraintsOf(pod("x", 1, 1, p));

  test("an undefined label fails In and Exists, even well known; NotIn and DoesNotExist pass", () => {
    const n = node({ "kubernetes.io/hostname": "n" });
    expect(nodeAccepts(c({ nodeSelector: { "topology.kubernetes.io/zone": "zone-a" } }), n)).toBe(false);
    expect(nodeAccepts(c(affinity({ key: "example.com/t", operator: "NotIn", values: ["a"] })), n)).toBe(
      true,
    );
    expect(nodeAccepts(c(affinity({ key: "example.com/t", operator: "DoesNotExist", values: [] })), n)).toBe(
      true,
    );
    expect(nodeAccepts(c({ nodeSelector: { "kubernetes.io/hostname": "n" } }), n)).toBe(true);
  });

  test("Gt/Lt compare integers", () => {
    const n = node({ "example.com/gen": "7" });
    expect(nodeAccepts(c(affinity({ key: "example.com/gen", operator: "Gt", values: ["6"] })), n)).toBe(true);
    expect(nodeAccepts(c(affinity({ key: "example.com/gen", operator: "Lt", values: ["7"] })), n)).toBe(
      false,
    );
  });

  test("a PreferNoSchedule taint repels until the pod tolerates it", () => {
    const n = node({}, { taints: [{ key: "example.com/batch", effect: "PreferNoSchedule" }] });
    expect(nodeAccepts(c({}), n)).toBe(false);
    expect(nodeAccepts(c({ tolerations: [{ ...PREFER_NO_SCHEDULE_TOLERATION }] }), n)).toBe(true);
    expect(nodeAccepts(c({ tolerations: [{ key: "example.com/batch", operator: "Exists" }] }), n)).toBe(true);
  });
});

describe("taints", () => {
  const taint = { key: "example.com/batch", value: "true", effect: "PreferNoSchedule" as const };
  const tainted = NodePoolSchema.parse({ name: "t", template: { taints: [taint] } });

  test("a NodePool's PreferNoSchedule taint repels a pod during simulation (Karpenter's Taints.ToleratesPod)", () => {
    expect(accepts({}, tainted)).toBe(false);
    expect(untoleratedPoolTaint(constraintsOf(pod("x", 1, 1)), tainted)).toEqual(taint);
    expect(accepts({ tolerations: [{ ...PREFER_NO_SCHEDULE_TOLERATION }] }, tainted)).toBe(true);
  });

  test("DaemonSet pods always tolerate PreferNoSchedule (Karpenter's isDaemonPodCompatible)", () => {
    const ds = DaemonSetSchema.parse({
      namespace: "kube-system",
      name: "agent",
      requests: { cpuMillis: 100 },
    });
    expect(daemonSetFits(ds, tainted, generic, zoneA)).toBe(true);
    const hard = NodePoolSchema.parse({
      name: "h",
      template: { taints: [{ ...taint, effect: "NoSchedule" }] },
    });
    expect(daemonSetFits(ds, hard, generic, zoneA)).toBe(false);
  });

  test("untoleratedTaint (topology's nodeTaintsPolicy) looks at NoSchedule and NoExecute only", () => {
    expect(untoleratedTaint([taint], [])).toBeUndefined();
    expect(untoleratedTaint([{ ...taint, effect: "NoExecute" }], [])?.effect).toBe("NoExecute");
  });
});
