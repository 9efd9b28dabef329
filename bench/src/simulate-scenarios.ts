import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { prepareInputs, prepareOptions } from "@nodeplan/cli/prepare";
import type { Solver } from "@nodeplan/core";
import type { ManifestInput } from "@nodeplan/k8s-adapter";
import { parseScenario, type Scenario, type SimulationResult, simulate } from "@nodeplan/simulator";
import { mulberry32, pick } from "./random.ts";
import type { Scenario as BenchScenario } from "./scenarios.ts";

/**
 * Simulation rows (`nodeplan simulate`, issue 21): a simulated day of a cluster driven by core's
 * decision step, one strategy per row. tinybench times the first `SLICE` of the day (it needs several
 * samples); the report runs the whole day once and gives its wall and CPU time and the simulated
 * seconds per wall second, with the day's cost, node-hours and pending time.
 *
 * - `simulate-production-api:<strategy>`: examples/simulations/production-api-pools.yaml, the 23-node
 *   example day (target: the day in <= 10 s).
 * - `simulate-<name>:<strategy>`: every other seed scenario of examples/simulations.
 * - `simulate-day-2000:<strategy>`: a generated ~2,000-node, 24-hour day (target: <= 10 minutes): 24
 *   Deployments with HPAs following daily load curves of different phases, PDBs on half of them, zone
 *   spreads on a third, three DaemonSets, one spot + on-demand NodePool, the embedded AWS catalog. The
 *   day starts from its workloads' morning replicas, every pod pending (a cold start).
 */

const repo = resolve(import.meta.dirname, "../..");
/** What tinybench times: the first part of the day. */
const SLICE = "15m";
const SMOKE_DURATION = "20m";

/** Reads a scenario and its manifests (files or directories, recursively, sorted) from disk. */
function fromFile(path: string): { scenario: Scenario; texts: ManifestInput[] } {
  const scenario = parseScenario(readFileSync(path, "utf8"), path);
  const texts: ManifestInput[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
    else if (/\.(ya?ml|json)$/.test(p)) texts.push({ source: p, text: readFileSync(p, "utf8") });
  };
  for (const m of scenario.spec.manifests) walk(resolve(dirname(path), m));
  return { scenario, texts };
}

/** Runs `scenario` with one strategy over `duration`; `prepared` caches the CLI's preparation of the inputs. */
async function run(
  solver: Solver,
  base: { scenario: Scenario; texts: ManifestInput[] },
  strategy: "nodeplan" | "karpenter",
  duration: string,
  prepared: Map<string, ReturnType<typeof prepareInputs>>,
): Promise<SimulationResult> {
  const scenario: Scenario = structuredClone(base.scenario);
  scenario.spec.strategies = [strategy];
  scenario.spec.duration = duration;
  return simulate({
    scenario,
    manifests: base.texts,
    solver,
    prepare: async (texts, o) => {
      const key = JSON.stringify(o);
      let inputs = prepared.get(key);
      if (inputs === undefined) {
        inputs = prepareInputs(
          texts,
          prepareOptions({
            now: o.now,
            ...(o.zones === undefined ? {} : { zones: o.zones.join(",") }),
            ...(o.capacityTypes === undefined ? {} : { capacityTypes: o.capacityTypes.join(",") }),
          }),
        );
        prepared.set(key, inputs);
      }
      const loaded = await inputs;
      return { cluster: loaded.cluster, instanceTypes: loaded.instanceTypes };
    },
  });
}

function simulationRow(
  id: string,
  load: (smoke: boolean) => { scenario: Scenario; texts: ManifestInput[] },
  strategy: "nodeplan" | "karpenter",
): BenchScenario {
  return {
    id: `${id}:${strategy}`,
    prepare(solver, smoke) {
      const base = load(smoke);
      const day = smoke ? SMOKE_DURATION : base.scenario.spec.duration;
      const inputs = new Map<string, ReturnType<typeof prepareInputs>>();
      let slice: Promise<SimulationResult> | undefined;
      const prepared = {
        /** Set by the report: the pods the day started with. */
        pods: 0,
        // Async: tinybench awaits it inside the timed window.
        run: async () => {
          slice = run(solver, base, strategy, smoke ? SMOKE_DURATION : SLICE, inputs);
          await slice;
        },
        report: async () => {
          await slice;
          const wall0 = performance.now();
          const cpu0 = process.cpuUsage();
          const result = await run(solver, base, strategy, day, inputs);
          const cpu = process.cpuUsage(cpu0);
          const wallSeconds = (performance.now() - wall0) / 1000;
          const r = result.strategies[strategy];
          const s = r?.summary;
          const first = r?.series[0];
          const last = r?.series.at(-1);
          prepared.pods = (first?.readyPods ?? 0) + (first?.pendingPods ?? 0);
          return {
            strategy,
            simulatedSeconds: result.durationSeconds,
            dayWallSeconds: Math.round(wallSeconds * 10) / 10,
            dayCpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 10) / 10,
            simulatedSecondsPerWallSecond: Math.round(result.durationSeconds / wallSeconds),
            nodes: s?.peakNodes ?? 0,
            // Pods of the start still pending at the end are not scheduled.
            scheduledPods: Math.max(0, prepared.pods - (last?.pendingPods ?? 0)),
            podsCreated: s?.podsCreated,
            costTotal: s?.costTotal,
            costPerHour: (s?.costTotal ?? 0) / (result.durationSeconds / 3600),
            nodeHours: s?.nodeHours,
            pendingPodSeconds: s?.pendingPodSeconds,
            pendingSecondsP95: s?.pendingSecondsP95,
            belowDesiredReplicaSeconds: s?.belowDesiredReplicaSeconds,
            evictions: s?.evictions,
            disruptions: s?.disruptions,
            launches: s?.launches,
            lowerBoundPerHour: null,
            costRatio: null,
            baselineCostPerHour: null,
            baselineScheduledPods: null,
          };
        },
      };
      return prepared;
    },
  };
}

/**
 * The generated day: 24 Deployments (`shop/svc-NN`) whose peak replicas add up to about `nodes` x 7 cpu,
 * each with an HPA at 60-75% of its cpu request following a daily curve with its own phase.
 */
export function largeDay(
  nodes: number,
  seed = 21,
  opts: { spread?: boolean } = {},
): { scenario: Scenario; texts: ManifestInput[] } {
  const rand = mulberry32(seed);
  const apps = 24;
  const peakCpuMillis = nodes * 7000;
  const docs: string[] = [
    `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: { name: default }
spec:
  role: KarpenterNodeRole
  amiSelectorTerms: [{ alias: al2023@latest }]
  subnetSelectorTerms: [{ tags: { karpenter.sh/discovery: day } }]
  securityGroupSelectorTerms: [{ tags: { karpenter.sh/discovery: day } }]`,
    `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: { name: general }
spec:
  template:
    spec:
      nodeClassRef: { group: karpenter.k8s.aws, kind: EC2NodeClass, name: default }
      requirements:
        - { key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand] }
        - { key: kubernetes.io/arch, operator: In, values: [amd64, arm64] }
        - { key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m, r] }
        - { key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["5"] }
        - { key: karpenter.k8s.aws/instance-cpu, operator: Lt, values: ["17"] }
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 5m
    budgets: [{ nodes: 10% }]`,
    ...[
      ["aws-node", "25m", "64Mi"],
      ["kube-proxy", "100m", "64Mi"],
      ["log-agent", "100m", "128Mi"],
    ].map(
      ([name, cpu, memory]) => `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: ${name}, namespace: kube-system }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      tolerations: [{ operator: Exists }]
      containers: [{ name: c, image: x, resources: { requests: { cpu: ${cpu}, memory: ${memory} } } }]`,
    ),
  ];
  const cpuChoices = [250, 500, 1000, 1000, 2000, 4000];
  const memPerCpu = [2, 4, 4, 8];
  const loads: string[] = [];
  const perApp = peakCpuMillis / apps;
  for (let i = 0; i < apps; i++) {
    const name = `svc-${String(i).padStart(2, "0")}`;
    const cpu = pick(rand, cpuChoices);
    const memMi = Math.round((cpu / 1000) * pick(rand, memPerCpu) * 1024);
    const target = pick(rand, [60, 65, 70, 75]);
    // Peak replicas at the target: the HPA holds the peak load at `target`% of requests.
    const peak = Math.max(2, Math.round(perApp / cpu));
    const peakCores = (peak * cpu * target) / 100 / 1000;
    const phaseHours = Math.floor(rand() * 24);
    const spread = (opts.spread ?? true) && i % 3 === 0;
    // The load at midnight, linear between 35% of the peak (12 hours from the phase) and the peak.
    const atStart = peakCores * (1 - 0.65 * (Math.min(phaseHours, 24 - phaseHours) / 12));
    // Replicas the HPA would hold at midnight: the day starts in its steady state, every pod pending.
    const replicas = Math.max(2, Math.ceil((atStart * 1000) / ((cpu * target) / 100)));
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: shop }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  strategy: { rollingUpdate: { maxSurge: 25%, maxUnavailable: 0 } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [{ name: c, image: ${name}:1, resources: { requests: { cpu: ${cpu}m, memory: ${memMi}Mi } } }]${
        spread
          ? `
      topologySpreadConstraints:
        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: { matchLabels: { app: ${name} } } }`
          : ""
      }`);
    docs.push(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: ${name}, namespace: shop }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: ${name} }
  minReplicas: 2
  maxReplicas: ${peak * 2}
  metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: ${target} } } }]`);
    if (i % 2 === 0)
      docs.push(`apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: ${name}, namespace: shop }
spec: { maxUnavailable: 10%, selector: { matchLabels: { app: ${name} } } }`);
    // A day: 35% of peak at night, the peak at its phase, linear in between (every 6 hours a point).
    const points = [0, 6, 12, 18, 24].map((h) => {
      const d = Math.min(Math.abs(h - phaseHours), 24 - Math.abs(h - phaseHours));
      return `{ at: ${h}h, cores: ${(peakCores * (1 - 0.65 * (d / 12))).toFixed(2)} }`;
    });
    loads.push(`    - app: shop/${name}
      startSeconds: { lognormal: { median: 6, p95: 25 } }
      readySeconds: 10
      load: { points: [${points.join(", ")}], repeat: 24h, noise: 0.03 }`);
  }
  const scenario = parseScenario(`apiVersion: nodeplan.dev/v1alpha1
kind: Simulation
metadata: { name: day-${nodes} }
spec:
  manifests: [day.yaml]
  start: "2026-11-03T00:00:00Z"
  duration: 24h
  seed: ${seed}
  apps:
${loads.join("\n")}
  timeline:
    - { at: 9h, commit: { app: shop/svc-00, image: "2" } }
    - { at: 13h, interrupt: { count: 20, nodePool: general } }
  settings:
    sampleInterval: 5m
    spot: { interruptionsPerHour: 0.005 }
`);
  return { scenario, texts: [{ source: "day.yaml", text: docs.join("\n---\n") }] };
}

const simulationsDir = join(repo, "examples/simulations");
/** The seed scenarios (examples/simulations), production-api-pools first: the 23-node example day. */
const seeds = readdirSync(simulationsDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => f.replace(/\.ya?ml$/, ""))
  .sort(
    (a, b) => Number(b === "production-api-pools") - Number(a === "production-api-pools") || (a < b ? -1 : 1),
  );
const seedRowId = (name: string) =>
  name === "production-api-pools" ? "simulate-production-api" : `simulate-${name}`;

/** The simulation rows, in report order (the smoke pass runs the generated day at 40 nodes). */
export const simulationScenarios: BenchScenario[] = [
  ...seeds.flatMap((name) =>
    (["nodeplan", "karpenter"] as const).map((strategy) =>
      simulationRow(seedRowId(name), () => fromFile(join(simulationsDir, `${name}.yaml`)), strategy),
    ),
  ),
  simulationRow("simulate-day-2000", (smoke) => largeDay(smoke ? 40 : 2000), "nodeplan"),
];
