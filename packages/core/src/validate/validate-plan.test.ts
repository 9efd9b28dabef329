import { createKernel } from "@nodeplan/solver-wasm";
import { describe, expect, test } from "vitest";
import { type Node, NodePoolSchema, NodeSchema, type Pod } from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import { GiB, instanceType, NOW, pod } from "../provisioning/fixtures.test-helper.ts";
import type { ProvisioningInput } from "../provisioning/input.ts";
import { provision } from "../provisioning/provision.ts";
import { type PlanViolation, validatePlan } from "./validate-plan.ts";

/**
 * Every rule of the independent plan checker fires on a hand-built bad plan, and stays silent on the
 * solver's plan for the same input: a checker that cannot say no proves nothing.
 */

const kernel = createKernel({ flavor: "reference" });
const ZONE = "topology.kubernetes.io/zone";
const HOST = "kubernetes.io/hostname";

function node(name: string, extra: Partial<Parameters<typeof NodeSchema.parse>[0]> = {}): Node {
  const r = { cpuMillis: 4000, memoryBytes: 16 * GiB, pods: 110 };
  return NodeSchema.parse({
    name,
    createdAt: NOW,
    labels: { [ZONE]: "zone-a", [HOST]: name },
    capacity: r,
    allocatable: r,
    nodePool: "default",
    pricePerHour: 0.2,
    ...extra,
  });
}

function cluster(pods: Pod[], extra: Partial<ProvisioningInput> = {}): ProvisioningInput {
  return {
    pods,
    nodes: [],
    nodePools: [NodePoolSchema.parse({ name: "default" })],
    instanceTypes: [instanceType("small", 2, 8, 0.1), instanceType("large", 8, 32, 0.4)],
    now: NOW,
    ...extra,
  };
}

/** The solver's plan for `input`, which the checker accepts. */
function solved(input: ProvisioningInput): Plan {
  const plan = provision(kernel, input);
  expect(validatePlan(input, plan).violations).toEqual([]);
  return plan;
}

function rulesOf(input: ProvisioningInput, plan: Plan): Set<PlanViolation["rule"]> {
  return new Set(validatePlan(input, plan).violations.map((v) => v.rule));
}

/** `plan` with its cost figures recomputed from its claims and the input's nodes (so only the break shows). */
function recosted(input: ProvisioningInput, plan: Plan): Plan {
  const currentPerHour = input.nodes.reduce((s, n) => s + (n.pricePerHour ?? 0), 0);
  const newPerHour = plan.nodeClaims.reduce((s, c) => s + c.pricePerHour, 0);
  return {
    ...plan,
    cost: {
      ...plan.cost,
      currentPerHour,
      newPerHour,
      plannedPerHour: currentPerHour + newPerHour,
      lowerBoundPerHour: 0,
      ratio: null,
    },
    lowerBound: { method: "none", certificate: null },
  };
}

/** Every placement on one claim (the first), everything else unchanged. */
function squashed(input: ProvisioningInput, plan: Plan): Plan {
  const first = plan.nodeClaims[0] as PlannedNodeClaim;
  const all = plan.placements.map((p) => p.pod);
  return recosted(input, {
    ...plan,
    nodeClaims: [{ ...first, pods: all }],
    placements: all.map((p) => ({ pod: p, node: first.name })),
  });
}

const first = (plan: Plan) => plan.nodeClaims[0] as PlannedNodeClaim;

describe("validatePlan: every rule fires on a plan that breaks it", () => {
  test("pod_accounting: a pending pod missing, placed twice, placed though bound, claim pods not its placements", () => {
    const input = cluster([pod("a", 500, 1), pod("b", 500, 1)]);
    const plan = solved(input);
    const [pa, pb] = plan.placements as [Plan["placements"][number], Plan["placements"][number]];
    expect(rulesOf(input, { ...plan, placements: [pa] })).toContain("pod_accounting");
    expect(rulesOf(input, { ...plan, placements: [pa, pb, pa] })).toContain("pod_accounting");
    const ghost = { ...plan, placements: [...plan.placements, { pod: "default/ghost", node: pa.node }] };
    expect(rulesOf(input, ghost)).toContain("pod_accounting");
    const claimsDiffer = recosted(input, {
      ...plan,
      nodeClaims: plan.nodeClaims.map((c) => ({ ...c, pods: [] })),
    });
    expect(rulesOf(input, claimsDiffer)).toEqual(new Set(["pod_accounting"]));
  });

  test("unknown_node: a pod on a node that is neither existing nor a claim; a claim of an unknown NodePool", () => {
    const input = cluster([pod("a", 500, 1)]);
    const plan = solved(input);
    const nowhere = recosted(input, {
      ...plan,
      nodeClaims: [],
      placements: [{ pod: "default/a", node: "nowhere" }],
    });
    expect(rulesOf(input, nowhere)).toEqual(new Set(["unknown_node"]));
    const orphan = { ...plan, nodeClaims: [{ ...first(plan), nodePool: "gone" }] };
    expect(rulesOf(input, orphan)).toContain("unknown_node");
  });

  test("unschedulable_node: a pod placed on a cordoned or deleting node", () => {
    for (const state of [{ unschedulable: true }, { deleting: true }]) {
      const input = cluster([pod("a", 500, 1)], { nodes: [node("n1", state)] });
      const plan = solved(input);
      expect(plan.placements.some((p) => p.node === "n1")).toBe(false);
      const onIt = recosted(input, {
        ...plan,
        nodeClaims: [],
        placements: [{ pod: "default/a", node: "n1" }],
      });
      expect(rulesOf(input, onIt)).toEqual(new Set(["unschedulable_node"]));
    }
  });

  test("requirement: a node selector an existing node or a claim's options do not meet; options the NodePool excludes", () => {
    const input = cluster([pod("a", 500, 1, { nodeSelector: { [ZONE]: "zone-b" } })], {
      nodes: [node("n1")],
    });
    const plan = solved(input);
    expect(first(plan).zone).toBe("zone-b");
    const onNode = recosted(input, {
      ...plan,
      nodeClaims: [],
      placements: [{ pod: "default/a", node: "n1" }],
    });
    expect(rulesOf(input, onNode)).toEqual(new Set(["requirement"]));
    const zoneA = {
      ...plan,
      nodeClaims: [
        {
          ...first(plan),
          zone: "zone-a",
          requirements: first(plan).requirements.map((r) =>
            r.key === ZONE ? { ...r, values: ["zone-a"] } : r,
          ),
        },
      ],
    };
    expect(rulesOf(input, zoneA)).toEqual(new Set(["requirement"]));
    // The NodePool allows only small; the claim lists large.
    const pooled = cluster([pod("a", 500, 1)], {
      nodePools: [
        NodePoolSchema.parse({
          name: "default",
          template: {
            requirements: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["small"] }],
          },
        }),
      ],
    });
    const small = solved(pooled);
    const large = recosted(pooled, {
      ...small,
      nodeClaims: [
        {
          ...first(small),
          instanceType: "large",
          instanceTypeOptions: ["large"],
          pricePerHour: 0.4,
          worstPricePerHour: 0.4,
        },
      ],
    });
    expect(rulesOf(pooled, large)).toContain("requirement");
  });

  test("taint: a pod on a tainted existing node or a tainted NodePool's claim it does not tolerate", () => {
    const taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" as const };
    const input = cluster([pod("a", 500, 1)], { nodes: [node("n1", { taints: [taint] })] });
    const plan = solved(input);
    const onNode = recosted(input, {
      ...plan,
      nodeClaims: [],
      placements: [{ pod: "default/a", node: "n1" }],
    });
    expect(rulesOf(input, onNode)).toEqual(new Set(["taint"]));
    const tainted = cluster([pod("a", 500, 1, { tolerations: [{ key: "dedicated", operator: "Exists" }] })], {
      nodePools: [NodePoolSchema.parse({ name: "default", template: { taints: [taint] } })],
    });
    const claimPlan = solved(tainted);
    const intolerant = { ...tainted, pods: [pod("a", 500, 1)] };
    expect(rulesOf(intolerant, claimPlan)).toEqual(new Set(["taint"]));
  });

  test("fit: an existing node over its allocatable; a claim whose option cannot hold its pods", () => {
    const input = cluster([pod("big", 3000, 1)], {
      nodes: [node("n1")],
      pods: [
        pod("big", 3000, 1),
        pod("bound", 2000, 1, { nodeName: "n1", phase: "Running", provisionable: false }),
      ],
    });
    const plan = solved(input);
    expect(plan.placements).toEqual([{ pod: "default/big", node: first(plan).name }]);
    const onNode = recosted(input, {
      ...plan,
      nodeClaims: [],
      placements: [{ pod: "default/big", node: "n1" }],
    });
    expect(rulesOf(input, onNode)).toEqual(new Set(["fit"]));
    const six = cluster(Array.from({ length: 6 }, (_, i) => pod(`p${i}`, 1500, 1)));
    expect(rulesOf(six, squashed(six, solved(six)))).toEqual(new Set(["fit"]));
  });

  test("limit: a plan past a NodePool limit; a pool its nodes already took past it, only when the plan adds to it", () => {
    const limited = (cpuMillis: number, nodes: Node[]) =>
      cluster([pod("a", 500, 1)], {
        nodes,
        nodePools: [NodePoolSchema.parse({ name: "default", limits: { cpuMillis } })],
      });
    // Room for 8 cpu: the solver launches small (2 cpu); a claim listing large (8) would reach 12.
    const input = limited(8000, [node("n1", { unschedulable: true })]);
    const plan = solved(input);
    expect(first(plan).instanceTypeOptions).toEqual(["small"]);
    const large = {
      ...plan,
      nodeClaims: [{ ...first(plan), instanceTypeOptions: ["small", "large"], worstPricePerHour: 0.4 }],
    };
    const over = validatePlan(input, large).violations;
    expect(over.map((v) => v.rule)).toEqual(["limit"]);
    expect(over[0]?.message).toBe("NodePool default cpuMillis would reach 12000 over its limit 8000");
    // Nodes already at 8 cpu against a limit of 6: the pod goes to a node (or stays pending), no violation.
    const already = limited(6000, [node("n1"), node("n2", { labels: { [ZONE]: "zone-b", [HOST]: "n2" } })]);
    const kept = solved(already);
    expect(kept.nodeClaims).toEqual([]);
    const stillOver = limited(6000, [
      node("n1", { unschedulable: true }),
      node("n2", { unschedulable: true }),
    ]);
    const pending = solved(stillOver);
    expect(pending.nodeClaims).toEqual([]);
    expect(pending.unschedulable.map((u) => u.reason.code)).toEqual(["nodepool_limit_reached"]);
    // ... but a claim in that pool is a violation, said to be on top of what the nodes already use.
    const added = recosted(stillOver, {
      ...plan,
      unschedulable: [],
      placements: [{ pod: "default/a", node: first(plan).name }],
    });
    const message = validatePlan(stillOver, added).violations.find((v) => v.rule === "limit")?.message;
    expect(message).toBe(
      "NodePool default cpuMillis would reach 10000 over its limit 6000, its nodes already use 8000",
    );
  });

  test("offering: the instance type not among the options, an option not in the catalog or not offered there", () => {
    const input = cluster([pod("a", 500, 1)]);
    const plan = solved(input);
    const claim = first(plan);
    const variants: PlannedNodeClaim[] = [
      { ...claim, instanceType: "medium" },
      { ...claim, instanceTypeOptions: [...claim.instanceTypeOptions, "unknown"] },
      {
        ...claim,
        requirements: claim.requirements.map((r) => (r.key === ZONE ? { ...r, values: ["zone-z"] } : r)),
      },
    ];
    for (const c of variants) expect(rulesOf(input, { ...plan, nodeClaims: [c] })).toContain("offering");
  });

  test("price: a claim's price or worst price that is not its options' cheapest or dearest", () => {
    const input = cluster([pod("a", 500, 1)]);
    const plan = solved(input);
    const cheap = recosted(input, { ...plan, nodeClaims: [{ ...first(plan), pricePerHour: 0.01 }] });
    expect(rulesOf(input, cheap)).toEqual(new Set(["price"]));
    const worst = { ...plan, nodeClaims: [{ ...first(plan), worstPricePerHour: 9 }] };
    expect(rulesOf(input, worst)).toEqual(new Set(["price"]));
  });

  test("cost: new, current or planned $/h that do not add up", () => {
    const input = cluster([pod("a", 500, 1)], { nodes: [node("n1", { unschedulable: true })] });
    const plan = solved(input);
    for (const cost of [
      { ...plan.cost, newPerHour: plan.cost.newPerHour + 1, plannedPerHour: plan.cost.plannedPerHour + 1 },
      { ...plan.cost, currentPerHour: 0, plannedPerHour: plan.cost.newPerHour },
      { ...plan.cost, plannedPerHour: plan.cost.plannedPerHour * 2 },
    ])
      expect(rulesOf(input, { ...plan, cost })).toContain("cost");
  });

  test("lower_bound: a bound its certificate does not prove, no certificate, a bound above the plan's cost", () => {
    const input = cluster(Array.from({ length: 6 }, (_, i) => pod(`p${i}`, 1500, 1)));
    const plan = solved(input);
    expect(plan.cost.lowerBoundPerHour).toBeGreaterThan(0);
    const higher = { ...plan, cost: { ...plan.cost, lowerBoundPerHour: plan.cost.newPerHour * 0.999 + 0.2 } };
    expect(rulesOf(input, higher)).toContain("lower_bound");
    const malformed = { ...plan, lowerBound: { method: plan.lowerBound.method, certificate: { kind: 7 } } };
    expect(rulesOf(input, malformed)).toEqual(new Set(["lower_bound"]));
    // The checker proves the same bound as the plan's own certificate whatever the plan's cost says.
    const below = recosted(input, { ...plan, nodeClaims: plan.nodeClaims.slice(1) });
    const claimed = {
      ...below,
      cost: { ...below.cost, lowerBoundPerHour: plan.cost.lowerBoundPerHour },
      lowerBound: plan.lowerBound,
    };
    const messages = validatePlan(input, claimed).violations.filter((v) => v.rule === "lower_bound");
    expect(messages.map((v) => v.message).join("\n")).toMatch(/exceeds the plan's own new cost/);
  });

  test("min_values: a claim with fewer distinct values than the NodePool's minValues, unless marked relaxed", () => {
    const minTwo = cluster([pod("a", 500, 1)], {
      nodePools: [
        NodePoolSchema.parse({
          name: "default",
          template: {
            requirements: [
              { key: "node.kubernetes.io/instance-type", operator: "Exists", values: [], minValues: 2 },
            ],
          },
        }),
      ],
    });
    const plan = solved(minTwo);
    expect(first(plan).instanceTypeOptions).toEqual(["small", "large"]);
    const one = {
      ...plan,
      nodeClaims: [{ ...first(plan), instanceTypeOptions: ["small"], worstPricePerHour: 0.1 }],
    };
    expect(rulesOf(minTwo, one)).toEqual(new Set(["min_values"]));
    const relaxed = {
      ...one,
      nodeClaims: [
        {
          ...(one.nodeClaims[0] as PlannedNodeClaim),
          annotations: { "karpenter.sh/nodeclaim-min-values-relaxed": "true" },
        },
      ],
    };
    expect(rulesOf(minTwo, relaxed)).toEqual(new Set());
  });

  test("reservation: a reserved claim naming no reservation it can launch into, or more launches than instances left", () => {
    const small = instanceType("small", 2, 8, 0.1);
    const reserved = {
      ...small,
      offerings: [
        ...small.offerings,
        {
          zone: "zone-a",
          capacityType: "reserved" as const,
          pricePerHour: 1e-8,
          available: true,
          reservationId: "cr-1",
          reservationCapacity: 1,
        },
      ],
    };
    const input = cluster([pod("a", 1500, 1), pod("b", 1500, 1)], { instanceTypes: [reserved] });
    const plan = solved(input);
    const inReservation = plan.nodeClaims.find((c) => c.capacityType === "reserved") as PlannedNodeClaim;
    expect(inReservation).toBeDefined();
    const unnamed = {
      ...plan,
      nodeClaims: plan.nodeClaims.map((c) =>
        c === inReservation
          ? {
              ...c,
              requirements: c.requirements.filter(
                (r) => r.key !== "karpenter.k8s.aws/capacity-reservation-id",
              ),
            }
          : c,
      ),
    };
    expect(rulesOf(input, unnamed)).toContain("reservation");
    const other = plan.nodeClaims.find((c) => c !== inReservation) as PlannedNodeClaim;
    const twice = recosted(input, {
      ...plan,
      nodeClaims: [inReservation, { ...inReservation, name: "second", pods: other.pods }],
      placements: plan.placements.map((p) => (p.node === other.name ? { ...p, node: "second" } : p)),
    });
    expect(rulesOf(input, twice)).toEqual(new Set(["reservation"]));
  });

  const sel = { matchLabels: { app: "x" } };
  const labelled = (n: number, extra: object) =>
    Array.from({ length: n }, (_, i) => pod(`p${i}`, 500, 1, { labels: { app: "x" }, ...extra }));
  const threeZones = [instanceType("large", 8, 32, 0.4, { zones: ["zone-a", "zone-b", "zone-c"] })];

  test("topology_spread: a zone spread collapsed into one zone", () => {
    const spread = [
      { maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule", labelSelector: sel },
    ];
    const input = cluster(labelled(3, { topologySpreadConstraints: spread }), { instanceTypes: threeZones });
    const plan = solved(input);
    expect(new Set(plan.nodeClaims.map((c) => c.zone)).size).toBe(3);
    expect(rulesOf(input, squashed(input, plan))).toEqual(new Set(["topology_spread"]));
  });

  test("pod_affinity: a pod away from the pods its zone affinity selects", () => {
    const db = pod("db", 500, 1, {
      labels: { app: "x" },
      nodeName: "n1",
      phase: "Running",
      provisionable: false,
    });
    const web = pod("web", 500, 1, {
      podAffinity: { required: [{ topologyKey: ZONE, labelSelector: sel }] },
    });
    const input = cluster([db, web], {
      nodes: [node("n1", { unschedulable: true })],
      instanceTypes: threeZones,
    });
    const plan = solved(input);
    expect(first(plan).zone).toBe("zone-a");
    const moved = {
      ...plan,
      nodeClaims: [
        {
          ...first(plan),
          zone: "zone-b",
          requirements: first(plan).requirements.map((r) =>
            r.key === ZONE ? { ...r, values: ["zone-b"] } : r,
          ),
        },
      ],
    };
    expect(rulesOf(input, moved)).toEqual(new Set(["pod_affinity"]));
  });

  test("pod_anti_affinity: pods of a hostname anti-affinity sharing a node", () => {
    const anti = { required: [{ topologyKey: HOST, labelSelector: sel }] };
    const input = cluster(labelled(3, { podAntiAffinity: anti }));
    expect(rulesOf(input, squashed(input, solved(input)))).toEqual(new Set(["pod_anti_affinity"]));
  });

  test("host_port: two pods binding one host port on a node", () => {
    const input = cluster(labelled(2, { hostPorts: [{ port: 8080 }] }));
    expect(rulesOf(input, squashed(input, solved(input)))).toEqual(new Set(["host_port"]));
  });
});
