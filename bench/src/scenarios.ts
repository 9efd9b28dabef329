import {
  type InstanceType,
  type NodePool,
  NodePoolSchema,
  type ProvisioningInput,
  type Solver,
  validatePlan,
} from "@nodeplan/core";
import { createKernel, defaultGroupValues, type EncodedProblem } from "@nodeplan/solver-wasm";
import { karpenterBaseline } from "./baseline-karpenter.ts";
import { type CatalogId, catalog } from "./catalogs.ts";
import { mulberry32, pick } from "./random.ts";
import { BENCH_NOW, genericPods, requestDraws } from "./workloads.ts";

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
  report(): Record<string, unknown>;
}

const defaultPool: NodePool = NodePoolSchema.parse({ name: "default" });

function provisioningScenario(workload: string, n: number, catalogId: CatalogId): Scenario {
  return {
    id: `${workload}-${n}:${catalogId}`,
    prepare(solver, smoke) {
      const count = smoke ? Math.min(n, 300) : n;
      const pods = genericPods(count);
      const types: InstanceType[] = catalog(catalogId);
      const input: ProvisioningInput = {
        pods,
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
        report: () => {
          const plan = solver.provision(input);
          // The independent validator is thorough, not fast: every row up to 20k pods is checked.
          const validation = count <= 20_000 ? validatePlan(input, plan) : undefined;
          const baseline = karpenterBaseline(pods, types);
          return {
            nodes: plan.nodeClaims.length,
            scheduledPods: plan.placements.length,
            costPerHour: plan.cost.newPerHour,
            lowerBoundPerHour: plan.cost.lowerBoundPerHour,
            costRatio: plan.cost.ratio,
            baselineCostPerHour: baseline.costPerHour,
            baselineScheduledPods: baseline.scheduledPods,
            baselineNodes: baseline.nodes,
            valid: validation?.valid ?? null,
            violations: validation?.violations.slice(0, 3).map((v) => v.message) ?? [],
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
  const problem: EncodedProblem = {
    resources: R,
    groups: {
      count: G,
      requests,
      counts,
      compat,
      existingCompat: new Uint32Array(0),
      classId: new Int32Array(G).fill(-1),
      value: new Float64Array(G),
    },
    offerings: {
      count: T,
      allocatable,
      capacity: allocatable.slice(),
      priceMicros,
      pool: new Int32Array(T),
      shape,
    },
    pools: {
      count: 1,
      limits: new Float64Array(R + 1).fill(Number.POSITIVE_INFINITY),
      used: new Float64Array(R + 1),
    },
    existing: { count: 0, remaining: new Float64Array(0), classCount: new Int32Array(0) },
    classes: { count: 0, capPerBin: new Int32Array(0) },
    options: { maxBins: 40_000, maxPlacements: 200_000, candidateShapes: 24, improve: true },
  };
  problem.groups.value.set(defaultGroupValues(problem));
  return problem;
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

/** Every scenario, in report order. */
export const scenarios: Scenario[] = [
  provisioningScenario("generic", 10_000, "fake-400"),
  provisioningScenario("generic", 10_000, "aws-us-east-1"),
  provisioningScenario("generic", 10_000, "kwok-linear"),
  provisioningScenario("generic", 100_000, "fake-400"),
  provisioningScenario("generic", 100_000, "aws-us-east-1"),
  provisioningScenario("generic", 100_000, "kwok-linear"),
  kernelScenario(),
];
