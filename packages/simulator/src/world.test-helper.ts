import { createSolver, type InstanceType, InstanceTypeSchema, type Solver } from "@nodeplan/core";
import { loadManifests } from "@nodeplan/k8s-adapter";
import type { SimulationResult } from "./result.ts";
import { parseScenario, type Scenario } from "./scenario.ts";
import { type SimulateInput, simulate } from "./simulate.ts";

/**
 * A small self-contained world for the simulator's tests: three instance types in two zones (on-demand
 * and spot), one NodePool, a Deployment `shop/web`, read by the k8s-adapter's loader as the CLI reads
 * manifests (the CLI adds its catalog and defaults; these tests bring their own catalog).
 */

const GiB = 1024 ** 3;
const type = (name: string, cpu: number, price: number): InstanceType =>
  InstanceTypeSchema.parse({
    name,
    labels: {
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/os": "linux",
      "node.kubernetes.io/instance-type": name,
    },
    capacity: { cpuMillis: cpu * 1000, memoryBytes: cpu * 4 * GiB, pods: 58 },
    allocatable: { cpuMillis: cpu * 1000 - 100, memoryBytes: cpu * 4 * GiB - GiB / 2, pods: 58 },
    offerings: ["z1", "z2"].flatMap((zone) => [
      { zone, capacityType: "on-demand", pricePerHour: price },
      { zone, capacityType: "spot", pricePerHour: Math.round(price * 0.4 * 1e4) / 1e4 },
    ]),
  });

export const TINY_CATALOG: InstanceType[] = [
  type("small", 2, 0.1),
  type("medium", 4, 0.2),
  type("large", 8, 0.4),
];

/** NodePool `default`, Deployment `shop/web` (1 cpu, 2Gi), and whatever `extra` adds. */
export function tinyManifests(
  opts: { replicas?: number; capacityType?: string; extra?: string } = {},
): string {
  return `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: { name: default }
spec:
  template:
    spec:
      nodeClassRef: { group: karpenter.k8s.aws, kind: EC2NodeClass, name: default }
      requirements:
        - { key: karpenter.sh/capacity-type, operator: In, values: [${opts.capacityType ?? "on-demand"}] }
      expireAfter: 720h
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 30s
    budgets: [{ nodes: "50%" }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: ${opts.replicas ?? 8}
  selector: { matchLabels: { app: web } }
  strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: web:1
          resources: { requests: { cpu: "1", memory: 2Gi } }
${opts.extra ?? ""}`;
}

/** A scenario over the tiny world (spec fields override the defaults). */
export function tinyScenario(spec: Record<string, unknown> = {}): Scenario {
  return parseScenario(
    JSON.stringify({
      apiVersion: "nodeplan.dev/v1alpha1",
      kind: "Simulation",
      metadata: { name: "tiny" },
      spec: {
        manifests: ["tiny.yaml"],
        start: "2026-11-02T00:00:00Z",
        duration: "2h",
        seed: 1,
        strategies: ["nodeplan"],
        ...spec,
      },
    }),
  );
}

let solver: Promise<Solver> | undefined;

/** Runs a scenario over the tiny world's manifests (or `manifests`). */
export async function runTiny(
  scenario: Scenario,
  manifests: string = tinyManifests(),
  hooks: Pick<SimulateInput, "onDecision"> = {},
): Promise<SimulationResult> {
  solver ??= createSolver();
  return simulate({
    scenario,
    manifests: [{ source: "tiny.yaml", text: manifests }],
    solver: await solver,
    prepare: async (texts, o) => {
      const loaded = loadManifests(texts, { now: o.now });
      if (loaded.errors.length > 0) throw new Error(JSON.stringify(loaded.errors));
      const instanceTypes: Record<string, InstanceType[]> = {};
      for (const p of loaded.cluster.nodePools) instanceTypes[p.name] = TINY_CATALOG;
      const byName = new Map(TINY_CATALOG.map((t) => [t.name, t]));
      const nodes = loaded.cluster.nodes.map((n) => {
        const it = byName.get(n.instanceType ?? "");
        const o = it?.offerings.find(
          (x) => x.zone === n.zone && x.capacityType === (n.capacityType ?? "on-demand"),
        );
        return o === undefined ? n : { ...n, pricePerHour: o.pricePerHour };
      });
      return { cluster: { ...loaded.cluster, nodes }, instanceTypes };
    },
    ...hooks,
  });
}
