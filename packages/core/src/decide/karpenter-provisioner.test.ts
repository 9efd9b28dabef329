import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DaemonSetSchema,
  type Node,
  type NodeInput,
  type NodePoolInput,
  NodePoolSchema,
  NodeSchema,
  type Pod,
} from "../model.ts";
import { GiB, instanceType, NOW, pod } from "../provisioning/fixtures.test-helper.ts";
import { isProvisionable, type ProvisioningInput } from "../provisioning/input.ts";
import { randomClusterArb } from "../provisioning/random-cluster.test-helper.ts";
import { validatePlan } from "../validate/validate-plan.ts";
import { karpenterProvision } from "./karpenter-provisioner.ts";
import { karpenterStrategy } from "./strategy.ts";

const ZONE = "topology.kubernetes.io/zone";
const pool = (extra: Partial<NodePoolInput> = {}) => NodePoolSchema.parse({ name: "default", ...extra });
const small = instanceType("small", 4, 16, 0.2);
const big = instanceType("big", 16, 64, 0.8);

function node(name: string, cpu: number, extra: Partial<NodeInput> = {}): Node {
  const resources = { cpuMillis: cpu * 1000, memoryBytes: 4 * cpu * GiB, pods: 110 };
  return NodeSchema.parse({
    name,
    labels: { [ZONE]: "zone-a", "kubernetes.io/hostname": name, "kubernetes.io/arch": "amd64" },
    capacity: resources,
    allocatable: resources,
    nodePool: "default",
    instanceType: "small",
    zone: "zone-a",
    capacityType: "on-demand",
    pricePerHour: 0.2,
    createdAt: NOW,
    ...extra,
  });
}

function input(pods: Pod[], nodes: Node[] = [], extra: Partial<ProvisioningInput> = {}): ProvisioningInput {
  return { pods, nodes, nodePools: [pool()], instanceTypes: [small, big], now: NOW, ...extra };
}

/** The plan, checked by the independent validator. */
function plan(i: ProvisioningInput) {
  const p = karpenterProvision(i);
  expect(validatePlan(i, p).violations).toEqual([]);
  return p;
}

const bound = (name: string, nodeName: string, cpu: number, extra = {}) =>
  pod(name, cpu * 1000, 1, { nodeName, phase: "Running", provisionable: false, ...extra });

describe("karpenterProvision: existing nodes", () => {
  test("a pending pod lands on an existing node with room, not on a new claim", () => {
    // n1: 4 CPUs, 1 used by a bound pod; the 2-CPU pod fits in the 3 left.
    const p = plan(input([bound("web-0", "n1", 1), pod("api", 2000, 1)], [node("n1", 4)]));
    expect(p.placements).toEqual([{ pod: "default/api", node: "n1" }]);
    expect(p.nodeClaims).toEqual([]);
    expect(p.cost).toMatchObject({ currentPerHour: 0.2, newPerHour: 0, plannedPerHour: 0.2 });
  });

  test("a pod the existing node has no room for gets a new claim", () => {
    // 4 - 3 bound = 1 CPU left: the 2-CPU pod goes to a new small node.
    const p = plan(input([bound("web-0", "n1", 3), pod("api", 2000, 1)], [node("n1", 4)]));
    expect(p.placements).toEqual([{ pod: "default/api", node: "default-0" }]);
    expect(p.nodeClaims.map((c) => [c.instanceType, c.pricePerHour, c.pods])).toEqual([
      ["small", 0.2, ["default/api"]],
    ]);
    expect(p.cost.newPerHour).toBe(0.2);
  });

  test("an in-flight claim is reused; initialized nodes are tried before it", () => {
    const inFlight = node("a-claim", 4, { inFlight: true, initialized: false, ready: false });
    // Only the in-flight claim: the pod waits for it rather than a new claim.
    expect(plan(input([pod("api", 2000, 1)], [inFlight])).placements).toEqual([
      { pod: "default/api", node: "a-claim" },
    ]);
    // An initialized node sorting after it by name still comes first (sortExistingNodes).
    expect(plan(input([pod("api", 2000, 1)], [inFlight, node("z-node", 4)])).placements).toEqual([
      { pod: "default/api", node: "z-node" },
    ]);
  });

  test("a pending pod nominated to a node this solve does not plan keeps its room there", () => {
    // n1 has 4 CPUs; "held" (3 CPUs, not provisionable: kube-scheduler is binding it) is nominated to n1.
    const held = { ...pod("held", 3000, 1, { provisionable: false }), nominatedNode: "n1" } as Pod;
    const api = pod("api", 2000, 1);
    const withHold = plan(input([held, api], [node("n1", 4)]));
    expect(withHold.placements).toEqual([{ pod: "default/api", node: "default-0" }]);
    // Without the nomination the room is free.
    const free = plan(input([pod("held", 3000, 1, { provisionable: false }), api], [node("n1", 4)]));
    expect(free.placements).toEqual([{ pod: "default/api", node: "n1" }]);
  });

  test("DaemonSets not yet running on a node reserve their requests there", () => {
    const ds = DaemonSetSchema.parse({
      namespace: "kube-system",
      name: "agent",
      requests: { cpuMillis: 1000 },
    });
    const api = pod("api", 3500, 1);
    // 4 CPUs less the agent's 1: no room for 3.5.
    expect(plan(input([api], [node("n1", 4)], { daemonSets: [ds] })).placements[0]?.node).toBe("default-0");
    // The agent already running there (and counted as a bound pod) changes nothing: 4 - 1 = 3.
    const running = bound("agent-n1", "n1", 1, { daemonSet: true });
    expect(plan(input([running, api], [node("n1", 4)], { daemonSets: [ds] })).placements[0]?.node).toBe(
      "default-0",
    );
    // Without the DaemonSet the node takes it.
    expect(plan(input([api], [node("n1", 4)])).placements[0]?.node).toBe("n1");
  });

  test("tainted and cordoned nodes are skipped", () => {
    const tainted = node("n1", 8, { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] });
    expect(plan(input([pod("api", 1000, 1)], [tainted])).placements[0]?.node).toBe("default-0");
    expect(
      plan(input([pod("api", 1000, 1)], [node("n1", 8, { unschedulable: true })])).placements[0]?.node,
    ).toBe("default-0");
  });
});

describe("karpenterProvision: new claims", () => {
  test("the queue packs the biggest pods first and later pods join open claims", () => {
    // 3 + 1 CPUs fill one small node (4 CPUs) in either input order.
    const p = plan(input([pod("a", 1000, 1), pod("b", 3000, 1)]));
    expect(p.nodeClaims).toHaveLength(1);
    expect([...(p.nodeClaims[0]?.pods ?? [])].sort()).toEqual(["default/a", "default/b"]);
  });

  test("NodePools by weight, equal weights by name descending", () => {
    const heavy = pool({ name: "heavy", weight: 10 });
    const light = pool({ name: "light" });
    const byWeight = plan(input([pod("a", 1000, 1)], [], { nodePools: [light, heavy] }));
    expect(byWeight.nodeClaims.map((c) => c.nodePool)).toEqual(["heavy"]);
    const a = pool({ name: "a" });
    const b = pool({ name: "b" });
    expect(
      plan(input([pod("a", 1000, 1)], [], { nodePools: [a, b] })).nodeClaims.map((c) => c.nodePool),
    ).toEqual(["b"]);
  });

  test("a NodePool's limits cut its types and stop it; the pod goes to the next pool or stays pending", () => {
    // Limit 6 CPUs: one small node (4) fits, a second would reach 8. The 3-CPU pods need a node each.
    const limited = pool({ name: "limited", weight: 10, limits: { cpuMillis: 6000 } });
    const pods = [pod("a", 3000, 1), pod("b", 3000, 1)];
    const alone = plan(input(pods, [], { nodePools: [limited] }));
    expect(alone.nodeClaims.map((c) => c.instanceTypeOptions)).toEqual([["small"]]);
    expect(alone.unschedulable.map((u) => [u.pod, u.reason.code])).toEqual([
      ["default/b", "nodepool_limit_reached"],
    ]);
    const spill = plan(input(pods, [], { nodePools: [limited, pool({ name: "spill" })] }));
    expect(spill.nodeClaims.map((c) => c.nodePool)).toEqual(["limited", "spill"]);
  });

  test("preferences are relaxed one step at a time, as Karpenter's", () => {
    // Preferred zone-c does not exist: the pod is scheduled once the preference is dropped.
    const preferring = pod("api", 1000, 1, {
      preferredNodeAffinity: [
        { weight: 50, preference: { matchExpressions: [{ key: ZONE, operator: "In", values: ["zone-c"] }] } },
      ],
    });
    const p = plan(input([preferring]));
    expect(p.placements).toHaveLength(1);
    expect(p.warnings.map((w) => w.code)).toContain("preference_relaxed");
    // A satisfiable preference is kept: zone-b.
    const b = pod("api", 1000, 1, {
      preferredNodeAffinity: [
        { weight: 50, preference: { matchExpressions: [{ key: ZONE, operator: "In", values: ["zone-b"] }] } },
      ],
    });
    expect(plan(input([b])).nodeClaims[0]?.zone).toBe("zone-b");
  });

  test("unschedulable pods carry the NodePools' reason", () => {
    const huge = pod("huge", 64_000, 1);
    const p = plan(input([huge]));
    expect(p.unschedulable.map((u) => u.reason.code)).toEqual(["too_large_for_any_type"]);
    const tainted = pool({ template: { taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }] } });
    expect(plan(input([pod("a", 1000, 1)], [], { nodePools: [tainted] })).unschedulable[0]?.reason.code).toBe(
      "no_nodepool_tolerates_taint",
    );
  });

  test("the plan carries nodeplan's proven bound on its new claims", () => {
    // Karpenter opens one claim for the first 3-CPU pod with every type it fits (small and big); the
    // second pod joins it, leaving only big: $0.8/h where two small nodes cost $0.4/h, the exact bound.
    const p = plan(input([pod("a", 3000, 1), pod("b", 3000, 1)]));
    expect(p.nodeClaims.map((c) => [c.instanceType, c.pods.length])).toEqual([["big", 2]]);
    expect(p.cost.newPerHour).toBeCloseTo(0.8);
    expect(p.cost.lowerBoundPerHour).toBeCloseTo(0.4);
    expect(p.cost.ratio).toBeCloseTo(2);
    expect(p.lowerBound.method).not.toBe("none");
  });

  test("the karpenter strategy provisions with it", () => {
    const i = input([bound("web-0", "n1", 1), pod("api", 2000, 1)], [node("n1", 4)]);
    expect(karpenterStrategy.provisioning.provision(undefined as never, i)).toEqual(karpenterProvision(i));
    expect(karpenterStrategy.description).not.toMatch(/nodeplan's/);
  });
});

describe("karpenterProvision on random clusters", () => {
  const RUNS = Number(globalThis.process?.env.NODEPLAN_KARPENTER_RUNS ?? 60);
  test("every plan passes the independent validator and is deterministic", { timeout: 120_000 }, () => {
    let onExisting = 0;
    fc.assert(
      fc.property(randomClusterArb, (i) => {
        const p = karpenterProvision(i);
        const unenforced = p.warnings.some((w) => w.code === "constraint_not_enforced");
        const violations = validatePlan(i, p).violations.filter(
          (v) => !unenforced || !/spread|affinity|topology/.test(v.rule),
        );
        expect(violations).toEqual([]);
        expect(p.placements.length + p.unschedulable.length).toBe(i.pods.filter(isProvisionable).length);
        expect(JSON.stringify(karpenterProvision(i))).toBe(JSON.stringify(p));
        const names = new Set(i.nodes.map((n) => n.name));
        if (p.placements.some((x) => names.has(x.node))) onExisting++;
      }),
      { numRuns: RUNS, seed: 20261206 },
    );
    // The sample exercised existing nodes.
    expect(onExisting).toBeGreaterThan(RUNS / 10);
  });
});
