import {
  type DaemonSet,
  type NodePool,
  NodePoolSchema,
  type Plan,
  type Pod,
  type ProvisioningInput,
  type Solver,
  validatePlan,
} from "@nodeplan/core";
import { createKernel, type EncodedProblem, encodedProblem } from "@nodeplan/solver-wasm";
import { karpenterBaseline } from "./baseline-karpenter.ts";
import { type CatalogId, catalog, catalogSubset, type SubsetId } from "./catalogs.ts";
import { clusterCostPerHour, consolidationCluster } from "./cluster.ts";
import { exactOptimum } from "./exact.ts";
import { mulberry32, pick } from "./random.ts";
import { simulationScenarios } from "./simulate-scenarios.ts";
import {
  BENCH_NOW,
  diversePods,
  documentedNodePool,
  eksDaemonSets,
  genericPods,
  largeShapesPods,
  mixedWorkload,
  requestDraws,
  unrestrictedNodePool,
} from "./workloads.ts";
/** What one scenario measures: a function to time, and what the row reports about its result. */
export interface Scenario {
  id: string;
  /** Builds the input (not timed). */
  prepare(solver: Solver, smoke: boolean): Prepared;
}

export interface Prepared {
  pods: number;
  /** The timed call. */
  run(): void;
  /** Row fields from one (untimed) run, including the baseline and validation. */
  report(): Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** Pods, NodePools and DaemonSets of a provisioning workload. */
interface Workload {
  pods: Pod[];
  nodePools: NodePool[];
  daemonSets: DaemonSet[];
}

const defaultPool: NodePool = NodePoolSchema.parse({ name: "default" });

/** Which NodePool an aws-us-east-1 row runs on: AWS's documented one (headline), or none (stress rows). */
type PoolVariant = "documented" | "unrestricted";

/**
 * One NodePool. fake-400 and kwok-linear keep Karpenter's benchmark setup (a pool without requirements,
 * no DaemonSets); aws-us-east-1 rows run on the documented pool (or the unrestricted one) with the
 * usual EKS DaemonSets.
 */
const onePool = (pods: Pod[], catalogId: CatalogId, variant: PoolVariant): Workload =>
  catalogId === "aws-us-east-1"
    ? {
        pods,
        nodePools: [variant === "documented" ? documentedNodePool() : unrestrictedNodePool()],
        daemonSets: eksDaemonSets(),
      }
    : { pods, nodePools: [defaultPool], daemonSets: [] };

/** Pods a smoke pass (`npm test`) plans per provisioning scenario. */
const SMOKE_PODS = 300;

/**
 * Violation rules about constraints a plan says it did not enforce (a `constraint_not_enforced`
 * warning): not counted against the plan.
 */
const UNENFORCED_RULES = /spread|affinity|topology|host_?port/i;

/** Row fields common to provisioning rows: the plan, its validation, warnings and the baseline. */
function provisioningReport(
  input: ProvisioningInput,
  plan: Plan,
  validate: boolean,
): Record<string, unknown> {
  const unenforced = plan.warnings.filter((w) => w.code === "constraint_not_enforced");
  for (const w of unenforced) process.stderr.write(`  warning constraint_not_enforced: ${w.message}\n`);
  const validation = validate ? validatePlan(input, plan) : undefined;
  const violations = (validation?.violations ?? []).filter(
    (v) => unenforced.length === 0 || !UNENFORCED_RULES.test(v.rule),
  );
  const baseline = karpenterBaseline(input);
  return {
    nodes: plan.nodeClaims.length,
    scheduledPods: plan.placements.length,
    costPerHour: plan.cost.newPerHour,
    lowerBoundPerHour: plan.cost.lowerBoundPerHour,
    costRatio: plan.cost.ratio,
    boundMethod: plan.lowerBound.method,
    costBreakdown: plan.cost.breakdown?.new ?? null,
    baselineCostPerHour: baseline.costPerHour,
    baselineScheduledPods: baseline.scheduledPods,
    baselineNodes: baseline.nodes,
    baselineCostBreakdown: baseline.costBreakdown,
    warnings: plan.warnings.length,
    constraintsNotEnforced: unenforced.length > 0,
    valid: validation === undefined ? null : violations.length === 0,
    violations: violations.slice(0, 3).map((v) => v.message),
  };
}

function provisioningScenario(
  workload: string,
  n: number,
  catalogId: CatalogId,
  make: (n: number, catalogId: CatalogId, variant: PoolVariant) => Workload,
  validateUpTo = 20_000,
  variant: PoolVariant = "documented",
): Scenario {
  return {
    id: `${workload}-${n}:${catalogId}${variant === "unrestricted" ? "/unrestricted" : ""}`,
    prepare(solver, smoke) {
      const count = smoke ? Math.min(n, SMOKE_PODS) : n;
      const w = make(count, catalogId, variant);
      const input: ProvisioningInput = {
        pods: w.pods,
        nodes: [],
        nodePools: w.nodePools,
        instanceTypes: catalog(catalogId),
        daemonSets: w.daemonSets,
        now: BENCH_NOW,
      };
      return {
        pods: count,
        run: () => {
          solver.provision(input);
        },
        // The independent validator is thorough, not fast: rows up to `validateUpTo` pods are checked
        // (20k; 5k with topology constraints, whose check took 80 s on diverse-20000), the rest in the
        // smoke pass at small N.
        report: () => provisioningReport(input, solver.provision(input), count <= validateUpTo),
      };
    },
  };
}

/** HiGHS' time limit per exact row: past it the row reports the best solution and HiGHS' proven bound. */
const EXACT_TIME_LIMIT_SEC = 30;

/**
 * `exact-generic-N:<catalog>/30`: a small instance (N generic pods, about 30 instance types) solved to
 * proven optimality by HiGHS (bench/src/exact.ts), next to nodeplan's cost and core's lower bound.
 */
function exactScenario(n: number, subset: SubsetId): Scenario {
  return {
    id: `exact-generic-${n}:${subset}`,
    prepare(solver, smoke) {
      const count = smoke ? Math.min(n, 8) : n;
      const types = catalogSubset(subset);
      const input: ProvisioningInput = {
        pods: genericPods(count),
        nodes: [],
        nodePools: [defaultPool],
        instanceTypes: types,
        now: BENCH_NOW,
      };
      return {
        pods: count,
        run: () => {
          solver.provision(input);
        },
        report: async () => {
          const plan = solver.provision(input);
          const row = provisioningReport(input, plan, true);
          const exact = await exactOptimum(input.pods, types, {
            upperBoundPerHour: plan.cost.newPerHour,
            timeLimitSec: smoke ? 5 : EXACT_TIME_LIMIT_SEC,
            incumbent: plan.nodeClaims,
          });
          const opt = exact.optimumPerHour;
          return {
            ...row,
            instanceTypes: types.length,
            optimumPerHour: opt,
            exactStatus: exact.status,
            exactBestPerHour: exact.bestPerHour,
            exactDualBoundPerHour: exact.dualBoundPerHour,
            exactNodes: exact.nodes,
            exactSolveMs: Math.round(exact.solveMs),
            exactColumns: exact.columns,
            costOverOptimum: opt !== null && opt > 0 ? plan.cost.newPerHour / opt : null,
            boundOverOptimum: opt !== null && opt > 0 ? plan.cost.lowerBoundPerHour / opt : null,
          };
        },
      };
    },
  };
}

/**
 * `consolidate-N:aws-us-east-1`: the existing cluster of bench/src/cluster.ts consolidated as a
 * controller does it, by `consolidateToFixedPoint` (plan one wave, carry it out, plan again, until no
 * command remains or 200 passes), with strategy `nodeplan` (the timed loop) and `karpenter` (the
 * baseline, run once). Both loops start from the same cluster with the same NodePool and catalog.
 */
function consolidateScenario(n: number): Scenario {
  return {
    id: `consolidate-${n}:aws-us-east-1`,
    prepare(solver, smoke) {
      const cluster = consolidationCluster(smoke ? Math.min(n, 40) : n);
      const input = (strategy: "nodeplan" | "karpenter"): Parameters<Solver["planDisruption"]>[0] => ({
        nodes: cluster.nodes,
        pods: cluster.pods,
        nodePools: cluster.nodePools,
        daemonSets: cluster.daemonSets,
        instanceTypes: cluster.instanceTypes,
        pdbs: cluster.pdbs,
        now: BENCH_NOW,
        options: { strategy },
      });
      const loop = { maxPasses: 200 };
      const nodeplanInput = input("nodeplan");
      return {
        pods: cluster.pods.filter((p) => !p.daemonSet).length,
        run: () => {
          solver.consolidateToFixedPoint(nodeplanInput, loop);
        },
        report: () => {
          const ours = solver.consolidateToFixedPoint(nodeplanInput, loop);
          const theirs = solver.consolidateToFixedPoint(input("karpenter"), loop);
          // The bound on the cluster where nodeplan's loop ends: one plan with the bound on.
          const final = solver.planDisruption({
            ...nodeplanInput,
            nodes: ours.cluster.nodes,
            pods: ours.cluster.pods,
            now: ours.final.at,
            options: { maxWaves: 1 },
          });
          const commands = (r: typeof ours) => r.passes.reduce((s, p) => s + p.commands.length, 0);
          return {
            nodes: ours.final.nodes,
            nodesAfter: ours.final.nodes,
            scheduledPods: cluster.pods.filter((p) => !p.daemonSet).length,
            currentNodes: cluster.nodes.length,
            currentCostPerHour: clusterCostPerHour(cluster.nodes),
            costPerHour: ours.final.costPerHour,
            lowerBoundPerHour: final.cost.lowerBoundPerHour,
            costRatio:
              final.cost.lowerBoundPerHour > 0 ? ours.final.costPerHour / final.cost.lowerBoundPerHour : null,
            passes: ours.passes.length,
            converged: ours.converged,
            commands: commands(ours),
            evictedPods: ours.evictions,
            baselineCostPerHour: theirs.final.costPerHour,
            // Consolidation never leaves a pod without a home: both sides keep every pod scheduled.
            baselineScheduledPods: cluster.pods.filter((p) => !p.daemonSet).length,
            baselineNodes: theirs.final.nodes,
            baselineNodesAfter: theirs.final.nodes,
            baselinePasses: theirs.passes.length,
            baselineConverged: theirs.converged,
            baselineCommands: commands(theirs),
            baselineEvictedPods: theirs.evictions,
            warnings: final.warnings.length,
            errors: final.errors.length,
          };
        },
      };
    },
  };
}

/** kernel-G2000: 2,000 pod groups (counts 1..20) against every aws-us-east-1 offering, kernel alone. */
function kernelScenario(): Scenario {
  return {
    id: "kernel-G2000:aws-us-east-1",
    prepare(_solver, smoke) {
      const G = smoke ? 100 : 2000;
      const problem = kernelProblem(G);
      const simd = createKernel({ flavor: "simd" });
      const scalar = createKernel({ flavor: "scalar" });
      const reference = createKernel({ flavor: "reference" });
      let pods = 0;
      for (const c of problem.groups.counts) pods += c;
      return {
        pods,
        run: () => {
          simd.solve(problem);
        },
        report: () => {
          const time = (k: typeof simd) => medianOf(smoke ? 1 : 15, () => k.solve(problem));
          const result = simd.solve(problem);
          let cost = 0;
          for (let b = 0; b < result.newBins; b++)
            cost += problem.offerings.priceMicros[result.binOffering[b] as number] as number;
          let scheduled = 0;
          for (let i = 2; i < result.placements.length; i += 3) scheduled += result.placements[i] as number;
          return {
            nodes: result.newBins,
            scheduledPods: scheduled,
            costPerHour: cost / 1e6,
            lowerBoundPerHour: null,
            costRatio: null,
            baselineCostPerHour: null,
            baselineScheduledPods: null,
            kernelWasmSimdMs: time(simd),
            kernelWasmScalarMs: time(scalar),
            kernelTsMs: time(reference),
          };
        },
      };
    },
  };
}

/** The encoded kernel-G2000 problem: every offering of the aws-us-east-1 catalog, all compatible. */
export function kernelProblem(G: number): EncodedProblem {
  const rand = mulberry32(42);
  const types = catalog("aws-us-east-1");
  const offerings = types.flatMap((t) => t.offerings.map((o) => ({ t, o })));
  offerings.sort(
    (a, b) =>
      a.o.pricePerHour - b.o.pricePerHour ||
      (a.t.name < b.t.name ? -1 : a.t.name > b.t.name ? 1 : 0) ||
      (a.o.zone < b.o.zone ? -1 : 1),
  );
  const R = 3;
  const T = offerings.length;
  const W = Math.ceil(T / 32);
  const requests = new Float64Array(G * R);
  const counts = new Int32Array(G);
  for (let g = 0; g < G; g++) {
    const r = requestDraws(rand);
    requests[g * R] = r.cpuMillis;
    requests[g * R + 1] = r.memoryBytes;
    requests[g * R + 2] = 1;
    counts[g] = pick(
      rand,
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  }
  const compat = new Uint32Array(G * W);
  for (let g = 0; g < G; g++)
    for (let t = 0; t < T; t++)
      compat[g * W + (t >>> 5)] = (compat[g * W + (t >>> 5)] as number) | (1 << (t & 31));
  const allocatable = new Float64Array(T * R);
  const priceMicros = new Float64Array(T);
  const shape = new Int32Array(T);
  const firstOfType = new Map<string, number>();
  offerings.forEach(({ t, o }, i) => {
    allocatable[i * R] = t.allocatable.cpuMillis ?? 0;
    allocatable[i * R + 1] = t.allocatable.memoryBytes ?? 0;
    allocatable[i * R + 2] = t.allocatable.pods ?? 0;
    priceMicros[i] = Math.round(o.pricePerHour * 1e6);
    const rep = firstOfType.get(t.name);
    if (rep === undefined) firstOfType.set(t.name, i);
    shape[i] = rep ?? i;
  });
  return encodedProblem({
    resources: R,
    groups: { requests, counts, compat },
    offerings: { allocatable, priceMicros, shape },
    options: { maxBins: 40_000, maxPlacements: 200_000, candidateShapes: 24, improve: true },
  });
}

function medianOf(times: number, fn: () => void): number {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

const diverse = (n: number, c: CatalogId, v: PoolVariant) => onePool(diversePods(n), c, v);
const generic = (n: number, c: CatalogId, v: PoolVariant) => onePool(genericPods(n), c, v);
const largeShapes = (n: number, c: CatalogId, v: PoolVariant) => onePool(largeShapesPods(n), c, v);
/** mixed-N keeps its own two NodePools and agent DaemonSet, and runs the EKS DaemonSets beside it. */
const mixed = (n: number): Workload => {
  const w = mixedWorkload(n);
  return { ...w, daemonSets: [...eksDaemonSets(), ...w.daemonSets] };
};
/** A workload's rows: fake-400, aws-us-east-1 on the documented pool, the /unrestricted stress row, kwok-linear. */
const rows = (
  workload: string,
  n: number,
  make: (n: number, c: CatalogId, v: PoolVariant) => Workload,
  validateUpTo?: number,
): Scenario[] => [
  provisioningScenario(workload, n, "fake-400", make, validateUpTo),
  provisioningScenario(workload, n, "aws-us-east-1", make, validateUpTo),
  provisioningScenario(workload, n, "aws-us-east-1", make, validateUpTo, "unrestricted"),
  provisioningScenario(workload, n, "kwok-linear", make, validateUpTo),
];

/** Every scenario, in report order. */
export const scenarios: Scenario[] = [
  ...[10_000, 100_000].flatMap((n) => rows("generic", n, generic)),
  ...[1000, 5000, 20_000].flatMap((n) => rows("diverse", n, diverse, 5000)),
  provisioningScenario("mixed", 5000, "aws-us-east-1", mixed),
  provisioningScenario("large-shapes", 2356, "aws-us-east-1", largeShapes),
  ...(["fake-400/30", "aws-us-east-1/30", "kwok-linear/30"] as const).flatMap((c) =>
    [20, 40].map((n) => exactScenario(n, c)),
  ),
  consolidateScenario(500),
  consolidateScenario(2000),
  kernelScenario(),
  ...simulationScenarios,
];
