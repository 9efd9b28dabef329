import type { InstanceType, Pod } from "@nodeplan/core";
import highsModule from "highs";

/**
 * Exact optimum of a small provisioning instance with the HiGHS MIP solver: the reference that shows
 * how tight core's lower bound is and how far nodeplan's plan is from optimal. Scope: pending pods
 * without node constraints on one NodePool without limits, taints or DaemonSets, so every type with an
 * available offering is compatible with every pod that fits it, and a node costs its type's cheapest
 * offering (zones and capacity types constrain nothing here).
 *
 * Dominated types (another has at least the same of every requested resource for at most the price)
 * are dropped first: that keeps the optimum and removes symmetric twins.
 *
 * Per-node assignment model. Bins: K_t copies of each type t, where K_t = min(pods, floor(UB / price_t))
 * for an upper bound UB on the optimum (nodeplan's cost: any cheaper solution buys at most that many
 * nodes of t). Binary y_{t,k} opens bin k of type t; integer x_{g,t,k} places pods of group g (pods with
 * equal requests) on it. Each group is placed exactly; each resource of a bin holds what is placed on
 * it when open; bins of a type open in order (y_{t,k} >= y_{t,k+1}, symmetry breaking). Minimise
 * the price of open bins.
 */
export interface ExactResult {
  /** HiGHS' model status: `Optimal` when the optimum is proven (within `mip_rel_gap`). */
  status: string;
  /** The optimum $/h when proven, else null. */
  optimumPerHour: number | null;
  /** The best solution found ($/h), also when the time limit stopped the search. */
  bestPerHour: number | null;
  /** HiGHS' proven lower bound on the optimum ($/h): equals the optimum when proven. */
  dualBoundPerHour: number | null;
  /** Nodes of the best solution. */
  nodes: number | null;
  /** Size of the model: binaries and integers. */
  columns: number;
  solveMs: number;
}

export interface ExactOptions {
  /** An upper bound on the optimum ($/h), e.g. a known plan's cost: bounds the bins per type. */
  upperBoundPerHour: number;
  /** Seconds (default 60). */
  timeLimitSec?: number;
  /**
   * A known solution to start from (nodeplan's claims: instance type and pod keys `namespace/name`);
   * HiGHS then only has to prove it optimal or improve on it.
   */
  incumbent?: readonly { instanceType: string; pods: readonly string[] }[];
}

// The package's types describe its CommonJS build (default import = module.exports); Node loads its ESM
// build, whose default export is the loader itself.
const highsLoader: typeof highsModule.default =
  typeof highsModule === "function" ? highsModule : highsModule.default;
type Highs = Awaited<ReturnType<typeof highsLoader>>;
let loaded: Promise<Highs> | undefined;

/** The HiGHS module, loaded once. */
function loadHighs(): Promise<Highs> {
  loaded ??= highsLoader();
  return loaded;
}

/** Solves the instance to optimality (or the time limit). */
export async function exactOptimum(
  pods: readonly Pod[],
  types: readonly InstanceType[],
  options: ExactOptions,
): Promise<ExactResult> {
  const highs = await loadHighs();
  const built = buildModel(pods, types, options.upperBoundPerHour);
  const model = highs.createModel({ format: "lp", data: built.lp });
  try {
    model.options.set({ output_flag: false, time_limit: options.timeLimitSec ?? 60, mip_rel_gap: 1e-6 });
    const names = new Map<string, number>();
    for (let i = 0; i < built.columns; i++) names.set(model.getColName(i), i);
    if (options.incumbent !== undefined) {
      const start = incumbentColumns(built, options.incumbent, names);
      if (start !== undefined) model.setSolution(start);
    }
    const begin = performance.now();
    model.run();
    const solveMs = performance.now() - begin;
    const status = model.getModelStatus();
    const solved = status === 7 || status === 13;
    const best = solved ? model.getObjectiveValue() : Number.NaN;
    const dual = Number(model.info.get("mip_dual_bound"));
    let nodes: number | null = null;
    if (Number.isFinite(best)) {
      const x = model.getSolution().colValue;
      nodes = 0;
      for (const y of built.binNames) nodes += Math.round(x[names.get(y) as number] ?? 0);
    }
    return {
      status:
        status === 7 ? "Optimal" : status === 13 ? "Time limit reached" : `HiGHS model status ${status}`,
      optimumPerHour: status === 7 ? best : null,
      bestPerHour: Number.isFinite(best) ? best : null,
      dualBoundPerHour: Number.isFinite(dual) ? dual : null,
      nodes,
      columns: built.columns,
      solveMs,
    };
  } finally {
    model.dispose();
  }
}

/** The column values of a known solution: claims of a type fill that type's bins in order. */
function incumbentColumns(
  built: BuiltModel,
  claims: readonly { instanceType: string; pods: readonly string[] }[],
  names: ReadonlyMap<string, number>,
): { indices: number[]; values: number[] } | undefined {
  const values = new Map<number, number>();
  const nextBin = new Map<number, number>();
  for (const claim of claims) {
    const ti = built.typeIndex.get(claim.instanceType);
    if (ti === undefined) return undefined;
    const k = nextBin.get(ti) ?? 0;
    nextBin.set(ti, k + 1);
    const y = names.get(`y_${ti}_${k}`);
    if (y === undefined) return undefined;
    values.set(y, 1);
    for (const pod of claim.pods) {
      const x = names.get(`x_${built.groupOf.get(pod)}_${ti}_${k}`);
      if (x === undefined) return undefined;
      values.set(x, (values.get(x) ?? 0) + 1);
    }
  }
  // Every other column is 0: a full vector, so HiGHS takes it as a complete start.
  const indices = [...names.values()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => values.get(i) ?? 0) };
}

export interface BuiltModel {
  lp: string;
  binNames: string[];
  columns: number;
  /** Instance type name -> index in the model's names. */
  typeIndex: Map<string, number>;
  /** Pod key `namespace/name` -> group index. */
  groupOf: Map<string, number>;
}

/** The MIP in CPLEX LP format. Resources are scaled by the largest allocatable so coefficients are <= 1. */
export function buildModel(
  pods: readonly Pod[],
  types: readonly InstanceType[],
  upperBoundPerHour: number,
): BuiltModel {
  const groups = new Map<string, { index: number; requests: Record<string, number>; count: number }>();
  const groupOf = new Map<string, number>();
  for (const p of pods) {
    const key = JSON.stringify(Object.entries(p.requests).sort(([a], [b]) => (a < b ? -1 : 1)));
    let g = groups.get(key);
    if (g === undefined) {
      g = { index: groups.size, requests: p.requests, count: 0 };
      groups.set(key, g);
    }
    g.count++;
    groupOf.set(`${p.namespace}/${p.name}`, g.index);
  }
  const G = [...groups.values()];
  const resources = [...new Set(G.flatMap((g) => Object.keys(g.requests)))].sort();
  const offered = types.flatMap((t) => {
    const prices = t.offerings.filter((o) => o.available).map((o) => o.pricePerHour);
    return prices.length === 0 ? [] : [{ t, price: Math.min(...prices) }];
  });
  // A type is dominated when another has at least its allocatable of every requested resource for at
  // most its price (ties: the earlier one stays). Any solution can swap a dominated node for its
  // dominator at no extra cost, so dropping dominated types keeps the optimum and removes symmetry
  // (kwok-linear's amd64/arm64 twins).
  const dominator = (a: (typeof offered)[number]) =>
    offered.find(
      (b, bi) =>
        b !== a &&
        b.price <= a.price &&
        resources.every((r) => (b.t.allocatable[r] ?? 0) >= (a.t.allocatable[r] ?? 0)) &&
        (b.price < a.price ||
          resources.some((r) => (b.t.allocatable[r] ?? 0) > (a.t.allocatable[r] ?? 0)) ||
          bi < offered.indexOf(a)),
    );
  const priced = offered.filter((a) => dominator(a) === undefined);
  const scale = new Map(
    resources.map((r) => [r, Math.max(1, ...priced.map(({ t }) => t.allocatable[r] ?? 0))]),
  );
  const total = pods.length;
  const objective: string[] = [];
  const rows: string[] = [];
  const bounds: string[] = [];
  const binaries: string[] = [];
  const generals: string[] = [];
  const binNames: string[] = [];
  const demand: string[][] = G.map(() => []);
  const num = (x: number) => Number(x.toPrecision(15)).toString();
  const typeIndex = new Map(priced.map(({ t }, ti) => [t.name, ti]));
  // Claims of a dropped type (an incumbent's) map to a kept type that dominates it.
  for (const a of offered) {
    let d = a;
    for (let next = dominator(d); next !== undefined; next = dominator(d)) d = next;
    typeIndex.set(a.t.name, typeIndex.get(d.t.name) as number);
  }
  priced.forEach(({ t, price }, ti) => {
    // Pods of each group one bin of this type can hold (0 = the group does not fit).
    const maxFit = G.map((g) => {
      let m = g.count;
      for (const [r, v] of Object.entries(g.requests))
        if (v > 0) m = Math.min(m, Math.floor((t.allocatable[r] ?? 0) / v));
      return m;
    });
    if (maxFit.every((m) => m === 0)) return;
    const K = price > 0 ? Math.min(total, Math.floor(upperBoundPerHour / price + 1e-9)) : total;
    for (let k = 0; k < K; k++) {
      const y = `y_${ti}_${k}`;
      binNames.push(y);
      binaries.push(y);
      objective.push(`${num(price)} ${y}`);
      if (k > 0) rows.push(`sym_${ti}_${k}: y_${ti}_${k - 1} - ${y} >= 0`);
      const load = new Map<string, string[]>(resources.map((r) => [r, []]));
      G.forEach((g, gi) => {
        if (maxFit[gi] === 0) return;
        const x = `x_${gi}_${ti}_${k}`;
        generals.push(x);
        bounds.push(`0 <= ${x} <= ${maxFit[gi]}`);
        (demand[gi] as string[]).push(x);
        for (const [r, v] of Object.entries(g.requests))
          if (v > 0) load.get(r)?.push(`${num(v / (scale.get(r) as number))} ${x}`);
      });
      for (const r of resources) {
        const terms = load.get(r) as string[];
        if (terms.length === 0) continue;
        const cap = (t.allocatable[r] ?? 0) / (scale.get(r) as number);
        rows.push(`cap_${ti}_${k}_${resources.indexOf(r)}: ${terms.join(" + ")} - ${num(cap)} ${y} <= 0`);
      }
    }
  });
  G.forEach((g, gi) => {
    const terms = demand[gi] as string[];
    if (terms.length === 0)
      throw new Error(`exact: no instance type fits pods with requests ${JSON.stringify(g.requests)}`);
    rows.push(`dem_${gi}: ${terms.join(" + ")} = ${g.count}`);
  });
  const lp = [
    "Minimize",
    ` cost: ${objective.join(" + ")}`,
    "Subject To",
    ...rows.map((r) => ` ${r}`),
    "Bounds",
    ...bounds.map((b) => ` ${b}`),
    "Binary",
    ...binaries.map((b) => ` ${b}`),
    "General",
    ...generals.map((g) => ` ${g}`),
    "End",
  ].join("\n");
  return { lp, binNames, columns: binaries.length + generals.length, typeIndex, groupOf };
}
