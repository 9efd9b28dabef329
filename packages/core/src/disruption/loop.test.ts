import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import {
  type InstanceType,
  InstanceTypeSchema,
  type Node,
  type NodePool,
  NodePoolSchema,
  NodeSchema,
  type Pod,
  PodDisruptionBudgetSchema,
  PodSchema,
} from "../model.ts";
import type { DisruptionCommand, DisruptionPlan } from "../plan.ts";
import { validateDisruption } from "../validate/validate-disruption.ts";
import { disruptionCatalog } from "./catalog.ts";
import { catalog, NOW, node, pod, pool } from "./fixtures.test-helper.ts";
import type { DisruptionInput } from "./input.ts";
import { consolidateToFixedPoint } from "./loop.ts";
import { planDisruption } from "./plan-disruption.ts";
import { applyCommand, clusterView, replacementNode } from "./state.ts";

let kernel: Kernel;
beforeAll(() => {
  kernel = createKernel({ flavor: "auto" });
});

describe("one wave at a time never raises cost", () => {
  // The case issue 17 reproduced: 10 small nodes ($0.10/h), one 1.5-cpu pod each, default 10% budget.
  // Wave 1 used to be "1->1 launch large, saving $-0.3000/h", and 14 passes took $1.00/h to $1.30/h.
  const tenSmall = (): DisruptionInput => ({
    nodes: Array.from({ length: 10 }, (_, i) => node(`n${i}`, "small")),
    pods: Array.from({ length: 10 }, (_, i) => pod(`n${i}`, 1500)),
    nodePools: [pool()],
    instanceTypes: catalog,
    now: NOW,
  });
  for (const strategy of ["nodeplan", "karpenter"] as const)
    test(`${strategy}: wave 1 of ten one-pod small nodes saves, and the loop stops at once`, () => {
      const input = { ...tenSmall(), options: { strategy } };
      const wave1 = planDisruption(kernel, { ...input, options: { ...input.options, maxWaves: 1 } });
      for (const c of wave1.commands) expect(c.savingsPerHour).toBeGreaterThan(0);
      const loop = consolidateToFixedPoint(kernel, input);
      expect(loop.converged).toBe(true);
      expect(loop.final.costPerHour).toBeLessThanOrEqual(1 + 1e-9);
      // With one node per wave nothing pays for itself: no 1.5-cpu pod fits the 0.5 cpu left elsewhere,
      // and no node is cheaper than small.
      expect(loop.passes).toEqual([]);
      expect(loop.last.kept.every((k) => k.reason.code !== "pods_would_not_fit" || k.node !== "")).toBe(true);
    });
  test("with a budget of 100% the ten become two larges in one command", () => {
    const input = tenSmall();
    const loop = consolidateToFixedPoint(kernel, {
      ...input,
      nodePools: [pool({ disruption: { budgets: [{ nodes: "100%" }] } })],
    });
    expect(loop.final.costPerHour).toBeCloseTo(0.8);
    expect(loop.passes[0]?.commands[0]).toMatchObject({ method: "consolidation" });
    expect(loop.passes[0]?.commands[0]?.candidates).toHaveLength(10);
  });
  test("the clock moves by what the commands take; the loop waits out consolidateAfter", () => {
    // Every node just had a pod event: none is consolidatable for 5 minutes.
    const input: DisruptionInput = {
      nodes: ["a", "b", "c", "d"].map((n) => node(n, "medium", { lastPodEventAt: NOW })),
      pods: ["a", "b", "c", "d"].map((n) => pod(n, 1000)),
      nodePools: [pool({ disruption: { consolidateAfter: "5m", budgets: [{ nodes: "1" }] } })],
      instanceTypes: catalog,
      now: NOW,
    };
    const loop = consolidateToFixedPoint(kernel, input, { drainSeconds: 30, validationSeconds: 15 });
    expect(loop.converged).toBe(true);
    expect(loop.final.costPerHour).toBeCloseTo(0.2);
    // One 1->0 per pass (budget 1), each validation + drain = 45 s, the first once the 5 minutes are up.
    const times = loop.passes.map((p) => (Date.parse(p.at) - Date.parse(NOW)) / 1000);
    expect(times).toEqual([300, 345, 390]);
    expect(loop.passes.map((p) => p.seconds)).toEqual([45, 45, 45]);
    // A loop that does not wait stops where consolidateAfter holds it, and says so.
    const impatient = consolidateToFixedPoint(kernel, input, { maxWaitSeconds: 0 });
    expect(impatient.passes).toEqual([]);
    expect(impatient.last.kept.map((k) => k.reason)).toContainEqual({
      code: "consolidate_after_pending",
      consolidatableAt: "2026-11-02T12:05:00.000Z",
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Random clusters: two zones, spot and on-demand, spread, anti-affinity, PDBs, budgets, do-not-disrupt.

const GiB = 1024 ** 3;
const ZONES = ["z1", "z2"];
const SIZES: Record<string, number> = { small: 2, medium: 4, large: 8, xlarge: 16 };
const twoZoneCatalog: InstanceType[] = Object.entries(SIZES).map(([name, cpu]) =>
  InstanceTypeSchema.parse({
    name,
    labels: { "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux" },
    capacity: { cpuMillis: cpu * 1000, memoryBytes: cpu * 2 * GiB, pods: 110 },
    allocatable: { cpuMillis: cpu * 1000, memoryBytes: cpu * 2 * GiB, pods: 110 },
    // Large nodes are a little dearer per cpu, so that shrinking pays as often as packing.
    offerings: ZONES.flatMap((zone, z) => [
      { zone, capacityType: "on-demand", pricePerHour: cpu * (0.05 + 0.001 * cpu) * (1 + 0.05 * z) },
      { zone, capacityType: "spot", pricePerHour: cpu * 0.02 * (1 + 0.1 * z) },
    ]),
  }),
);

const arbCluster = fc
  .record({
    nodes: fc.array(
      fc.record({
        type: fc.constantFrom(...Object.keys(SIZES)),
        zone: fc.constantFrom(...ZONES),
        spot: fc.boolean(),
        dndNode: fc.integer({ min: 0, max: 14 }).map((x) => x === 0),
        pods: fc.array(
          fc.record({
            cpu: fc.constantFrom(100, 250, 500, 1000, 1500),
            app: fc.constantFrom("web", "api", "db", "batch"),
            dnd: fc.integer({ min: 0, max: 19 }).map((x) => x === 0),
          }),
          { maxLength: 8 },
        ),
      }),
      { minLength: 1, maxLength: 7 },
    ),
    budget: fc.constantFrom("10%", "1", "2", "50%", "100%"),
    pdb: fc.option(fc.constantFrom<number | string>(0, 1, "50%"), { nil: undefined }),
    spread: fc.boolean(),
    antiAffinity: fc.boolean(),
    spotToSpot: fc.boolean(),
    pdbEvictions: fc.constantFrom("serial" as const, "strict" as const),
    strategy: fc.constantFrom("nodeplan" as const, "karpenter" as const),
  })
  .map((c): DisruptionInput => {
    const nodes: Node[] = [];
    const pods: Pod[] = [];
    c.nodes.forEach((n, i) => {
      const it = twoZoneCatalog.find((t) => t.name === n.type) as InstanceType;
      const capacityType = n.spot ? "spot" : "on-demand";
      const name = `n${i}`;
      nodes.push(
        NodeSchema.parse({
          name,
          labels: {
            ...it.labels,
            "node.kubernetes.io/instance-type": it.name,
            "topology.kubernetes.io/zone": n.zone,
            "karpenter.sh/capacity-type": capacityType,
            "karpenter.sh/nodepool": "default",
            "kubernetes.io/hostname": name,
          },
          annotations: n.dndNode ? { "karpenter.sh/do-not-disrupt": "true" } : {},
          capacity: it.capacity,
          allocatable: it.allocatable,
          instanceType: it.name,
          zone: n.zone,
          capacityType,
          nodePool: "default",
          pricePerHour: it.offerings.find((o) => o.zone === n.zone && o.capacityType === capacityType)
            ?.pricePerHour,
          createdAt: "2026-11-01T00:00:00Z",
        }),
      );
      let used = 0;
      for (const [j, p] of n.pods.entries()) {
        if (used + p.cpu > (it.allocatable.cpuMillis as number)) break;
        used += p.cpu;
        pods.push(
          PodSchema.parse({
            namespace: "default",
            name: `${p.app}-${i}-${j}`,
            uid: `u-${i}-${j}`,
            creationTimestamp: "2026-11-01T00:00:00Z",
            labels: { app: p.app },
            annotations: p.dnd ? { "karpenter.sh/do-not-disrupt": "true" } : {},
            requests: { cpuMillis: p.cpu, memoryBytes: 256 * 1024 ** 2, pods: 1 },
            nodeName: name,
            phase: "Running",
            provisionable: false,
            topologySpreadConstraints:
              c.spread && p.app === "web"
                ? [
                    {
                      maxSkew: 1,
                      topologyKey: "topology.kubernetes.io/zone",
                      whenUnsatisfiable: "ScheduleAnyway",
                      labelSelector: { matchLabels: { app: "web" } },
                    },
                  ]
                : [],
            podAntiAffinity:
              c.antiAffinity && p.app === "db"
                ? {
                    required: [
                      {
                        topologyKey: "kubernetes.io/hostname",
                        labelSelector: { matchLabels: { app: "db" } },
                      },
                    ],
                  }
                : undefined,
          }),
        );
      }
    });
    return {
      nodes,
      pods,
      nodePools: [
        NodePoolSchema.parse({
          name: "default",
          template: {
            requirements: [
              { key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] },
            ],
          },
          disruption: { consolidateAfter: "0s", budgets: [{ nodes: c.budget }] },
        }),
      ],
      instanceTypes: twoZoneCatalog,
      ...(c.pdb === undefined
        ? {}
        : {
            pdbs: [
              PodDisruptionBudgetSchema.parse({
                namespace: "default",
                name: "api",
                selector: { matchLabels: { app: "api" } },
                maxUnavailable: c.pdb,
              }),
            ],
          }),
      now: NOW,
      options: {
        strategy: c.strategy,
        spotToSpotConsolidation: c.spotToSpot,
        pdbEvictions: c.pdbEvictions,
      },
    };
  });

/** What a plan made of `commands` must say about kept nodes and cost, for the validator's other rules. */
function keptFor(input: DisruptionInput, commands: readonly DisruptionCommand[]): DisruptionPlan["kept"] {
  const gone = new Set(commands.flatMap((c) => c.candidates));
  return input.nodes
    .filter((n) => !gone.has(n.name))
    .map((n) => ({ node: n.name, reason: { code: "no_cheaper_replacement", pricePerHour: 0 }, message: "" }));
}

function costFor(input: DisruptionInput, commands: readonly DisruptionCommand[]): DisruptionPlan["cost"] {
  const price = (n: Node) => n.pricePerHour ?? 0;
  const gone = new Set(commands.flatMap((c) => c.candidates));
  const current = input.nodes.reduce((s, n) => s + price(n), 0);
  const after =
    input.nodes.filter((n) => !gone.has(n.name)).reduce((s, n) => s + price(n), 0) +
    commands.flatMap((c) => c.replacements).reduce((s, r) => s + r.pricePerHour, 0);
  return { currentPerHour: current, afterPerHour: after, lowerBoundPerHour: 0 };
}

describe("the loop on random clusters", () => {
  test("cost never rises, every pass is valid, every evicted pod is placed, and it stops", () => {
    let passes = 0;
    let savedSomething = 0;
    fc.assert(
      fc.property(arbCluster, (input) => {
        const loop = consolidateToFixedPoint(kernel, input, { maxPasses: 50 });
        expect(loop.converged).toBe(true);
        let cost = loop.initial.costPerHour;
        const catalog = disruptionCatalog(input);
        let view = clusterView(input.nodes, input.pods);
        for (const p of loop.passes) {
          // Each pass's commands, checked by the independent validator on the cluster it started from:
          // candidates, budgets, PDBs, do-not-disrupt, placements and fit, savings at the worst price.
          const passInput = { ...input, nodes: [...view.nodes.values()], pods: view.pods, now: p.at };
          expect(
            validateDisruption(passInput, {
              ...loop.last,
              commands: p.commands,
              kept: keptFor(passInput, p.commands),
              cost: costFor(passInput, p.commands),
            }).violations,
          ).toEqual([]);
          for (const c of p.commands) expect(c.placements?.length).toBe(c.evictions.length);
          expect(p.costPerHour).toBeLessThanOrEqual(cost + 1e-9);
          cost = p.costPerHour;
          for (const c of p.commands) {
            const nodes = c.replacements.map((r) =>
              replacementNode(catalog, input.nodePools[0] as NodePool, r, p.at),
            );
            view = applyCommand(view, c, nodes, p.at);
          }
          passes++;
        }
        expect(cost).toBeCloseTo(loop.final.costPerHour, 9);
        if (loop.final.costPerHour < loop.initial.costPerHour - 1e-9) savedSomething++;
      }),
      { numRuns: 500, seed: 17 },
    );
    // The random clusters do exercise consolidation.
    expect(passes).toBeGreaterThan(300);
    expect(savedSomething).toBeGreaterThan(150);
  });
});
