import {
  DaemonSetSchema,
  type InstanceType,
  karpenterProvisionSummary,
  NodePoolSchema,
  type Pod,
} from "@nodeplan/core";
import { describe, expect, test } from "vitest";
import { karpenterBaseline } from "./baseline-karpenter.ts";
import { benchPod } from "./workloads.ts";

const GiB = 1024 ** 3;
const ZONES = ["z1", "z2", "z3"];

function type(name: string, cpu: number, price: number, labels: Record<string, string> = {}): InstanceType {
  const resources = { cpuMillis: cpu * 1000, memoryBytes: 4 * cpu * GiB, pods: 110 };
  return {
    name,
    labels: { "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": name, ...labels },
    capacity: resources,
    allocatable: resources,
    offerings: ZONES.map((zone) => ({
      zone,
      capacityType: "on-demand" as const,
      pricePerHour: price,
      available: true,
    })),
  };
}

const pool = NodePoolSchema.parse({ name: "default" });
const small = type("small", 2, 1);
const big = type("big", 8, 3.5);
const pod = (name: string, i: number, cpu = 1000): Pod => benchPod(name, i, cpu, 512, {});

describe("Karpenter-faithful baseline", () => {
  test("first fit keeps every type that still fits and pays the cheapest at the end", () => {
    // Four 1-cpu pods fit one claim whose options shrink to `big` (3.5/h), not two smalls (2/h).
    const r = karpenterBaseline({
      pods: [0, 1, 2, 3].map((i) => pod("p", i)),
      nodePools: [pool],
      instanceTypes: [small, big],
    });
    expect(r).toMatchObject({ costPerHour: 3.5, nodes: 1, scheduledPods: 4 });
  });

  test("hostname anti-affinity: one such pod per node", () => {
    const pods = [0, 1, 2].map((i) => {
      const p = benchPod("nginx", i, 100, 100, { app: "nginx" });
      p.podAntiAffinity.required = [
        {
          labelSelector: { matchLabels: { app: "nginx" }, matchExpressions: [] },
          namespaces: [],
          topologyKey: "kubernetes.io/hostname",
          matchLabelKeys: [],
          mismatchLabelKeys: [],
        },
      ];
      return p;
    });
    const r = karpenterBaseline({
      pods: [...pods, pod("other", 0, 100)],
      nodePools: [pool],
      instanceTypes: [small, big],
    });
    expect(r.nodes).toBe(3);
    expect(r.scheduledPods).toBe(4);
  });

  test("zone spread maxSkew 1 pins claims to the least-loaded zone: three zones, three claims", () => {
    const pods = [0, 1, 2].map((i) => {
      const p = benchPod("spread", i, 100, 100, { app: "s" });
      p.topologySpreadConstraints = [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "DoNotSchedule",
          labelSelector: { matchLabels: { app: "s" }, matchExpressions: [] },
          nodeAffinityPolicy: "Honor",
          nodeTaintsPolicy: "Ignore",
          matchLabelKeys: [],
        },
      ];
      return p;
    });
    const r = karpenterBaseline({ pods, nodePools: [pool], instanceTypes: [small] });
    expect(r.claims.map((c) => c.zones)).toEqual([["z1"], ["z2"], ["z3"]]);
    // Without the constraint the three pods share one node.
    const free = pods.map((p) => ({ ...p, topologySpreadConstraints: [] }));
    expect(karpenterBaseline({ pods: free, nodePools: [pool], instanceTypes: [small] }).nodes).toBe(1);
  });

  test("zone self-affinity keeps the group in one zone, so a second node joins the first one's zone", () => {
    const pods = [0, 1, 2].map((i) => {
      const p = benchPod("aff", i, 1500, 100, { team: "x" });
      p.podAffinity.required = [
        {
          labelSelector: { matchLabels: { team: "x" }, matchExpressions: [] },
          namespaces: [],
          topologyKey: "topology.kubernetes.io/zone",
          matchLabelKeys: [],
          mismatchLabelKeys: [],
        },
      ];
      return p;
    });
    const r = karpenterBaseline({ pods, nodePools: [pool], instanceTypes: [small] });
    expect(r).toMatchObject({ costPerHour: 3, nodes: 3, scheduledPods: 3 });
    expect(r.claims.map((c) => c.zones)).toEqual([["z1"], ["z1"], ["z1"]]);
  });

  test("taints, NodePool requirements and DaemonSet overhead decide the pool and the type", () => {
    const gpuType = type("gpu", 8, 10, { accel: "yes" });
    const gpuPool = NodePoolSchema.parse({
      name: "gpu",
      template: {
        requirements: [{ key: "accel", operator: "In", values: ["yes"] }],
        taints: [{ key: "gpu", effect: "NoSchedule" }],
      },
    });
    const general = NodePoolSchema.parse({
      name: "general",
      template: { requirements: [{ key: "accel", operator: "DoesNotExist" }] },
    });
    const tolerant = pod("t", 0);
    tolerant.tolerations = [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }];
    tolerant.nodeSelector = { accel: "yes" };
    // A 1.9-cpu pod fits `small` (2 cpu) only without the 200m DaemonSet: it then needs `big`.
    const wide = pod("w", 0, 1900);
    const ds = DaemonSetSchema.parse({
      namespace: "k",
      name: "agent",
      requests: { cpuMillis: 200, pods: 1 },
    });
    const input = { nodePools: [general, gpuPool], instanceTypes: [small, big, gpuType] };
    expect(karpenterBaseline({ ...input, pods: [tolerant] })).toMatchObject({
      costPerHour: 10,
      nodes: 1,
      scheduledPods: 1,
    });
    expect(karpenterBaseline({ ...input, pods: [wide] }).costPerHour).toBe(1);
    expect(karpenterBaseline({ ...input, pods: [wide], daemonSets: [ds] }).costPerHour).toBe(3.5);
    // A pod that tolerates nothing cannot use the tainted pool: asking for the accelerator leaves it out.
    const blocked = pod("b", 0);
    blocked.nodeSelector = { accel: "yes" };
    expect(karpenterBaseline({ ...input, pods: [blocked] }).scheduledPods).toBe(0);
  });

  test("in-flight claims are tried fewest pods first", () => {
    // On 8-cpu nodes: two 5-cpu pods open two claims; a 1-cpu pod joins the first (tie: opening
    // order); the next 1-cpu pod joins the second, which now has fewer pods. Tried in opening order,
    // it would have joined the first (3 + 1 pods).
    const eight = type("eight", 8, 3);
    const pods = [pod("a", 0, 5000), pod("b", 0, 5000), pod("c", 0, 1000), pod("d", 0, 1000)];
    const r = karpenterBaseline({ pods, nodePools: [pool], instanceTypes: [eight] });
    expect(r.claims.map((c) => c.pods)).toEqual([2, 2]);
  });

  test("equal-weight NodePools are tried by name descending; queue ties by creation time, then uid", () => {
    const a = NodePoolSchema.parse({ name: "a-pool", template: { labels: { pool: "a" } } });
    const z = NodePoolSchema.parse({ name: "z-pool", template: { labels: { pool: "z" } } });
    const cheapA = {
      ...type("cheap-a", 2, 1),
      labels: { ...small.labels, "node.kubernetes.io/instance-type": "cheap-a" },
    };
    const r = karpenterBaseline({
      pods: [pod("p", 0)],
      nodePools: [a, z],
      instanceTypes: { "a-pool": [cheapA], "z-pool": [big] },
    });
    // z-pool comes first by name descending: the pod lands on its only type, big.
    expect(r.costPerHour).toBe(3.5);
  });

  test("at launch, Karpenter's exotic filter drops metal and GPU options while another remains", () => {
    const metal = {
      ...type("m.metal", 8, 2),
      labels: { ...big.labels, "karpenter.k8s.aws/instance-size": "metal" },
    };
    const gpu = {
      ...type("g.big", 8, 2.5),
      capacity: { cpuMillis: 8000, memoryBytes: 32 * GiB, pods: 110, "nvidia.com/gpu": 1 },
    };
    // Four 1-cpu pods: the claim's options are big, metal and gpu; metal is cheapest but exotic.
    const pods = [0, 1, 2, 3].map((i) => pod("p", i));
    const r = karpenterBaseline({ pods, nodePools: [pool], instanceTypes: [small, big, metal, gpu] });
    expect(r).toMatchObject({ costPerHour: 3.5, nodes: 1 });
    // With minValues on the NodePool the filter is skipped, as in Karpenter.
    const withMin = NodePoolSchema.parse({
      name: "default",
      template: {
        requirements: [{ key: "node.kubernetes.io/instance-type", operator: "Exists", minValues: 2 }],
      },
    });
    expect(
      karpenterBaseline({ pods, nodePools: [withMin], instanceTypes: [small, big, metal, gpu] }).costPerHour,
    ).toBe(2);
  });

  test("core's provisioner without a provider filter reads the catalog's exotic mark", () => {
    // The same claim as above: metal is cheapest. Unmarked, core launches it; marked, it is dropped.
    const metal = { ...type("m.metal", 8, 2) };
    const pods = [0, 1, 2, 3].map((i) => pod("p", i));
    expect(
      karpenterProvisionSummary({ pods, nodePools: [pool], instanceTypes: [small, big, metal] }).costPerHour,
    ).toBe(2);
    expect(
      karpenterProvisionSummary({
        pods,
        nodePools: [pool],
        instanceTypes: [small, big, { ...metal, exotic: true }],
      }).costPerHour,
    ).toBe(3.5);
  });

  test("reports the breakdown of what its launches pay", () => {
    const withVolume = {
      ...small,
      offerings: small.offerings.map((o) => ({
        ...o,
        pricePerHour: 1.0022,
        costs: {
          instancePerHour: 1,
          storagePerHour: 0.0022,
          networkPerHour: 0,
          burstableCreditsPerHour: 0,
          feesPerHour: 0,
        },
      })),
    };
    const r = karpenterBaseline({ pods: [pod("p", 0)], nodePools: [pool], instanceTypes: [withVolume] });
    expect(r.costBreakdown).toEqual({
      instancePerHour: 1,
      storagePerHour: 0.0022,
      networkPerHour: 0,
      burstableCreditsPerHour: 0,
      feesPerHour: 0,
    });
  });
});
