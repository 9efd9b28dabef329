import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import {
  type InstanceType,
  InstanceTypeSchema,
  type Node,
  NodePoolSchema,
  type Pod,
  PodSchema,
} from "../model.ts";
import { renderKept } from "../render.ts";
import { NOW, nodeOf } from "./fixtures.test-helper.ts";
import type { DisruptionInput } from "./input.ts";
import { launchable } from "./replacements.ts";
import { PlanRun, WaveSession } from "./session.ts";
import { clusterView } from "./state.ts";

let kernel: Kernel;
beforeAll(() => {
  kernel = createKernel({ flavor: "auto" });
});

const GiB = 1024 ** 3;
const ZONES = ["z1", "z2", "z3"];

/**
 * Types with spot where it is cheaper, nowhere, dearer than on-demand in one zone, or in one zone only:
 * every way an on-demand offering can be left without a cheaper spot one of a type at least as large.
 */
function catalog(odOnlyPrice: number): InstanceType[] {
  const type = (name: string, cpu: number, memGiB: number, od: number, spot: Record<string, number>) =>
    InstanceTypeSchema.parse({
      name,
      labels: { "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux" },
      capacity: { cpuMillis: cpu * 1000, memoryBytes: memGiB * GiB, pods: 110 },
      allocatable: { cpuMillis: cpu * 1000, memoryBytes: memGiB * GiB, pods: 110 },
      offerings: ZONES.flatMap((zone) => [
        { zone, capacityType: "on-demand", pricePerHour: od },
        ...(spot[zone] === undefined ? [] : [{ zone, capacityType: "spot", pricePerHour: spot[zone] }]),
      ]),
    });
  return [
    type("s2", 2, 4, 0.1, { z1: 0.04, z2: 0.04 }),
    type("s4", 4, 8, 0.2, { z1: 0.08, z2: 0.08, z3: 0.08 }),
    type("m4", 4, 16, odOnlyPrice, {}),
    type("l8", 8, 16, 0.4, { z1: 0.16, z2: 0.45, z3: 0.16 }),
    type("x16", 16, 64, 1.2, { z1: 0.5 }),
  ];
}

const arbCluster = fc.record({
  /** The on-demand-only type cheap (a replacement that may not be spot can pay) or dear. */
  odOnlyPrice: fc.constantFrom(0.12, 0.6),
  nodes: fc.array(
    fc.record({
      type: fc.constantFrom("s2", "s4", "l8", "x16", "m4"),
      zone: fc.constantFrom(...ZONES),
      spot: fc.constantFrom(true, true, true, false),
      state: fc.constantFrom("ready", "ready", "ready", "ready", "coming", "deleting", "cordoned"),
      pods: fc.array(
        fc.record({
          app: fc.integer({ min: 0, max: 3 }),
          cpu: fc.constantFrom(250, 500, 1000, 2000),
          memGiB: fc.constantFrom(0.5, 1, 2, 4, 8),
          tolerateAll: fc.constantFrom(false, false, false, false, false, true),
        }),
        { maxLength: 14 },
      ),
    }),
    { minLength: 2, maxLength: 9 },
  ),
  spread: fc.array(fc.constantFrom("none", "none", "zone-hard", "zone-soft"), { minLength: 4, maxLength: 4 }),
  pending: fc.array(fc.record({ app: fc.integer({ min: 0, max: 3 }), cpu: fc.constantFrom(250, 2000) }), {
    maxLength: 3,
  }),
  /** What turns the proof off: a pod selecting the capacity type, NodePool limits. */
  capacityTypeSelector: fc.constantFrom(false, false, false, false, true),
  limits: fc.constantFrom(false, false, false, false, true),
  minSavingsPerHour: fc.constantFrom(0, 0.05),
  removals: fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
});
type Cluster = typeof arbCluster extends fc.Arbitrary<infer T> ? T : never;

function build(c: Cluster): DisruptionInput {
  const types = catalog(c.odOnlyPrice);
  const nodes: Node[] = [];
  const pods: Pod[] = [];
  const rules = (app: number) => {
    const spread = c.spread[app] ?? "none";
    return spread === "none"
      ? {}
      : {
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: spread === "zone-hard" ? "DoNotSchedule" : "ScheduleAnyway",
              labelSelector: { matchLabels: { app: `app${app}` } },
            },
          ],
        };
  };
  c.nodes.forEach((n, i) => {
    const it = types.find((t) => t.name === n.type) as InstanceType;
    const spotOffer = it.offerings.find((o) => o.zone === n.zone && o.capacityType === "spot");
    const capacityType = n.spot && spotOffer !== undefined ? "spot" : "on-demand";
    const name = `n${i}`;
    nodes.push(
      nodeOf(it, name, n.zone, capacityType, {
        deleting: n.state === "deleting",
        initialized: n.state !== "coming",
        unschedulable: n.state === "cordoned",
      }),
    );
    let cpu = 0;
    let mem = 0;
    // Nodes coming up are empty: the room only pods that tolerate the fence may take.
    (n.state === "coming" ? [] : n.pods).forEach((p, j) => {
      const bytes = p.memGiB * GiB;
      if (cpu + p.cpu > (it.allocatable.cpuMillis as number)) return;
      if (mem + bytes > (it.allocatable.memoryBytes as number)) return;
      cpu += p.cpu;
      mem += bytes;
      pods.push(
        PodSchema.parse({
          namespace: "shop",
          name: `app${p.app}-${i}-${j}`,
          uid: `u-${i}-${j}`,
          creationTimestamp: "2026-11-01T00:00:00Z",
          labels: { app: `app${p.app}` },
          requests: { cpuMillis: p.cpu, memoryBytes: bytes, pods: 1 },
          nodeName: name,
          phase: "Running",
          provisionable: false,
          ...(p.tolerateAll ? { tolerations: [{ operator: "Exists" }] } : {}),
          ...(c.capacityTypeSelector && j === 0
            ? { nodeSelector: { "karpenter.sh/capacity-type": "spot" } }
            : {}),
          ...rules(p.app),
        }),
      );
    });
  });
  c.pending.forEach((p, j) => {
    pods.push(
      PodSchema.parse({
        namespace: "shop",
        name: `app${p.app}-pending-${j}`,
        uid: `u-pending-${j}`,
        creationTimestamp: "2026-11-01T00:00:00Z",
        labels: { app: `app${p.app}` },
        requests: { cpuMillis: p.cpu, memoryBytes: GiB, pods: 1 },
        phase: "Pending",
        provisionable: true,
        ...rules(p.app),
      }),
    );
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
        ...(c.limits ? { limits: { cpuMillis: 1_000_000 } } : {}),
      }),
    ],
    instanceTypes: types,
    now: NOW,
    options: { minSavingsPerHour: c.minSavingsPerHour, minSavingsPercent: 0 },
  };
}

/** An example cluster: these nodes and nothing else (no spread, pending pods, limits or selectors). */
const example = (nodes: Cluster["nodes"]): Cluster => ({
  odOnlyPrice: 0.6,
  nodes,
  spread: ["none", "none", "none", "none"],
  pending: [],
  capacityTypeSelector: false,
  limits: false,
  minSavingsPerHour: 0,
  removals: [],
});

describe("spot-to-spot gate without a simulation", () => {
  test("what it refuses, the simulation refuses, for the same reason when a replacement may be spot", () => {
    let proven = 0;
    let agreed = 0;
    let accepted = 0;
    fc.assert(
      fc.property(arbCluster, (c) => {
        const input = build(c);
        const run = new PlanRun(kernel, input);
        const s = new WaveSession(run, clusterView(input.nodes, input.pods), 1);
        const names = input.nodes.map((n) => n.name);
        for (const pick of c.removals) {
          const remove = [...new Set(pick.map((k) => names[k % names.length] as string))]
            .map((n) => input.nodes.find((x) => x.name === n) as Node)
            .filter((n) => !n.deleting && n.initialized && s.reschedulable(n).length > 0);
          if (remove.length === 0) continue;
          const refused = s.spotGate(remove);
          const sim = s.simulate(remove);
          const verdict = launchable(run.catalog, run.pools, sim, {
            thresholdPerHour: run.thresholdPerHour(sim.removedPerHour),
            spotToSpot: false,
          });
          const simRefuses = sim.unschedulable.length > 0 || !verdict.ok;
          if (refused === undefined) {
            if (!simRefuses) accepted++;
            continue;
          }
          proven++;
          expect(remove.every((n) => n.capacityType === "spot")).toBe(true);
          expect(simRefuses).toBe(true);
          if (sim.unschedulable.length > 0 || verdict.ok) continue;
          if ("spotToSpotDisabled" in verdict.kept) {
            expect(verdict.kept).toEqual(refused);
            agreed++;
          }
        }
      }),
      { numRuns: 500, seed: 606 },
    );
    // The proof carries weight (about 100 removals refused without a simulation), and the clusters
    // leave room for removals that pay (the simulation accepts them: the proof must stay out).
    expect(proven).toBeGreaterThan(80);
    expect(agreed).toBeGreaterThan(60);
    expect(accepted).toBeGreaterThan(30);
  });

  test("explains itself, and stays out of the way when spot-to-spot is enabled or a candidate is on-demand", () => {
    const c = example([
      {
        type: "s4",
        zone: "z1",
        spot: true,
        state: "ready",
        pods: [{ app: 0, cpu: 2000, memGiB: 8, tolerateAll: false }],
      },
      {
        type: "s2",
        zone: "z1",
        spot: false,
        state: "ready",
        pods: [{ app: 1, cpu: 1000, memGiB: 2, tolerateAll: false }],
      },
    ]);
    const input = build(c);
    const gate = (options: DisruptionInput["options"], names: string[]) => {
      const run = new PlanRun(kernel, { ...input, options });
      const s = new WaveSession(run, clusterView(input.nodes, input.pods), 1);
      return s.spotGate(input.nodes.filter((n) => names.includes(n.name)));
    };
    // The s4 spot node's pod (8 GiB) fits nowhere else: a claim is needed, and one that may not be spot
    // costs at least $0.40/h (l8 on-demand in z2, where its spot offering is dearer), more than the node.
    const refused = gate({}, ["n0"]);
    expect(refused).toEqual({ code: "no_cheaper_replacement", pricePerHour: 0.08, spotToSpotDisabled: true });
    expect(renderKept(refused as NonNullable<typeof refused>)).toContain(
      "spot-to-spot consolidation is disabled",
    );
    // Uncovered on-demand offerings: l8 in z2 (its spot dearer), x16 in z2 and z3 (no spot there).
    expect(new PlanRun(kernel, input).catalog.onDemandFloor()).toEqual({
      pricePerHour: 0.4,
      perCpuMilli: 0.4 / 8000,
      perMemoryByte: 1.2 / (64 * GiB),
    });
    for (const turnsOff of [{ limits: true }, { capacityTypeSelector: true }])
      expect(new PlanRun(kernel, build({ ...c, ...turnsOff })).catalog.onDemandFloor()).toBeUndefined();
    expect(gate({ spotToSpotConsolidation: true }, ["n0"])).toBeUndefined();
    expect(gate({}, ["n0", "n1"])).toBeUndefined();
  });

  test("a pod that tolerates every taint may take a node still coming up: no proof then", () => {
    const pod = (tolerateAll: boolean) => ({ app: 0, cpu: 2000 as const, memGiB: 8 as const, tolerateAll });
    const cluster = (tolerateAll: boolean) =>
      example([
        { type: "s4", zone: "z1", spot: true, state: "ready", pods: [pod(tolerateAll)] },
        { type: "s2", zone: "z1", spot: false, state: "ready", pods: [] },
        { type: "x16", zone: "z1", spot: false, state: "coming", pods: [] },
      ]);
    for (const tolerateAll of [false, true]) {
      const input = build(cluster(tolerateAll));
      const run = new PlanRun(kernel, input);
      const s = new WaveSession(run, clusterView(input.nodes, input.pods), 1);
      const n0 = input.nodes[0] as Node;
      const sim = s.simulate([n0]);
      const verdict = launchable(run.catalog, run.pools, sim, { thresholdPerHour: 0, spotToSpot: false });
      // Fenced off the node coming up, the pod needs a claim; tolerating the fence, it moves there.
      expect(verdict.ok).toBe(tolerateAll);
      expect(s.spotGate([n0]) === undefined).toBe(tolerateAll);
    }
  });
});
