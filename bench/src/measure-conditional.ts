/**
 * Conditional per-node cap classes, before vs after, on the diverse workload (and diverse without its
 * anti-affinity group). "before" runs the same code with every class made unconditional at the kernel
 * boundary (a wrapper clears `classes.conditional`), which is the old encoding's meaning for these
 * workloads: their hostname anti-affinity owners all match their own term, so only cap-1 classes over
 * owners and matches exist, as before. Every plan is checked by core's validatePlan.
 *
 *   npx node --conditions=@nodeplan/source bench/src/measure-conditional.ts [sizes] [catalogs]
 */
import { NodePoolSchema, type Plan, type ProvisioningInput, validatePlan } from "@nodeplan/core";
import { createKernel, type Kernel } from "@nodeplan/solver-wasm";
// core exports the Solver only; the before/after kernels need provision() itself.
import { provision } from "../../packages/core/src/provisioning/provision.ts";
import { karpenterBaseline } from "./baseline-karpenter.ts";
import { type CatalogId, catalog } from "./catalogs.ts";
import { BENCH_NOW, diversePods } from "./workloads.ts";

const sizes = (process.argv[2] ?? "1000,5000,20000").split(",").map(Number);
const catalogs = (process.argv[3] ?? "fake-400,kwok-linear").split(",") as CatalogId[];
const after = createKernel();
const before: Kernel = {
  flavor: after.flavor,
  solve: (p) =>
    after.solve({ ...p, classes: { ...p.classes, conditional: new Uint8Array(p.classes.count) } }),
};

const median = (fn: () => Plan): { plan: Plan; ms: number } => {
  const times: number[] = [];
  let plan: Plan | undefined;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    plan = fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { plan: plan as Plan, ms: Math.round(times[1] as number) };
};

for (const variant of ["diverse", "diverse-noanti"] as const)
  for (const n of sizes)
    for (const c of catalogs) {
      const all = diversePods(n);
      const pods = variant === "diverse" ? all : all.filter((p) => p.podAntiAffinity.required.length === 0);
      const input: ProvisioningInput = {
        pods,
        nodes: [],
        nodePools: [NodePoolSchema.parse({ name: "default" })],
        instanceTypes: catalog(c),
        daemonSets: [],
        now: BENCH_NOW,
      };
      const base = karpenterBaseline(input);
      const row: Record<string, unknown> = {
        id: `${variant}-${n}:${c}`,
        pods: pods.length,
        baselineNodes: base.nodes,
        baselineCost: +base.costPerHour.toFixed(2),
      };
      for (const [name, kernel] of [
        ["before", before],
        ["after", after],
      ] as const) {
        const { plan, ms } = median(() => provision(kernel, input));
        const violations = validatePlan(input, plan).violations;
        row[name] = {
          nodes: plan.nodeClaims.length,
          scheduled: plan.placements.length,
          cost: +plan.cost.newPerHour.toFixed(2),
          vsBaseline: `${((plan.cost.newPerHour / base.costPerHour - 1) * 100).toFixed(1)}%`,
          ms,
          valid: violations.length === 0,
          ...(violations.length > 0 ? { violations: violations.slice(0, 3).map((v) => v.message) } : {}),
        };
      }
      console.log(JSON.stringify(row));
    }
