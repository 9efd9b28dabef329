import type { Kernel } from "@nodeplan/solver-wasm";
import { type Node, type Pod, podKey } from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import { provision } from "../provisioning/provision.ts";
import type { KeptReason } from "../reasons.ts";
import { isReschedulable } from "./candidates.ts";
import { type DisruptionCatalog, nodePrice } from "./catalog.ts";
import type { DisruptionInput } from "./input.ts";
import { type ClusterView, podsByNode } from "./state.ts";

/** Prefix of the names simulated claims get; `commit` gives the claims their real names. */
export const SIM_PREFIX = "\u0000sim:";

/**
 * How hard a simulation works: `search` compares candidate sets (kernel with its improvement phase, no
 * pattern stage), `full` prices a chosen command as provisioning would, `bound` only needs the proven
 * bound (no improvement phase).
 */
export type SimulationEffort = "search" | "full" | "bound";

/** What removing a set of nodes would do: the packing kernel is the simulator. */
export interface Simulation {
  removed: readonly Node[];
  /** The removed nodes' reschedulable pods. */
  evicted: readonly Pod[];
  /** New claims the evicted pods need (priced at their cheapest offering; launch options not yet cut). */
  claims: readonly PlannedNodeClaim[];
  /** Evicted pod (`ns/name`) -> a remaining node or a claim name. */
  placements: ReadonlyMap<string, string>;
  unschedulable: Plan["unschedulable"];
  removedPerHour: number;
  newPerHour: number;
  /** The kernel's proven bound on the new capacity it planned. */
  lowerBoundPerHour: number;
}

/**
 * Removes `remove` in simulation: their reschedulable pods become pending against the rest of the
 * cluster, which the kernel packs onto the remaining nodes and new claims (from the pruned catalog).
 * Pending pods take no part (they are the provisioner's). When a NodePool has limits, the removed
 * nodes still count against them, as in Karpenter: a replacement launches before its candidates go.
 */
export function simulate(
  kernel: Kernel,
  input: DisruptionInput,
  catalog: DisruptionCatalog,
  view: ClusterView,
  remove: readonly Node[],
  effort: SimulationEffort = "search",
): Simulation {
  const names = new Set(remove.map((n) => n.name));
  const residual = catalog.independentPods ? residualView(view) : undefined;
  const evicted: Pod[] = [];
  // Pods that constrain no other pod only take room: the residual nodes carry that, and the kernel
  // sees just the evicted pods instead of the whole cluster. Otherwise every pod goes in.
  const pods: Pod[] = [];
  if (residual !== undefined) {
    for (const n of remove)
      for (const p of residual.podsOn.get(n.name) ?? [])
        if (isReschedulable(p)) {
          evicted.push(p);
          pods.push({ ...p, nodeName: undefined, provisionable: true, phase: "Pending" });
        }
  } else
    for (const p of view.pods) {
      if (p.nodeName === undefined) {
        pods.push(p.provisionable ? { ...p, provisionable: false } : p);
      } else if (names.has(p.nodeName)) {
        if (isReschedulable(p)) {
          evicted.push(p);
          pods.push({ ...p, nodeName: undefined, provisionable: true, phase: "Pending" });
        }
      } else pods.push(p);
    }
  let removedPerHour = 0;
  for (const n of remove) removedPerHour += nodePrice(catalog, n);
  if (evicted.length === 0)
    return {
      removed: remove,
      evicted,
      claims: [],
      placements: new Map(),
      unschedulable: [],
      removedPerHour,
      newPerHour: 0,
      lowerBoundPerHour: 0,
    };
  const limited = input.nodePools.some((p) => Object.keys(p.limits).length > 0);
  // With residual nodes and no limits to count, a node without room for the smallest evicted pod in
  // some resource can take none of them: the kernel need not see it.
  const least = residual !== undefined && !limited ? leastRequests(evicted) : undefined;
  const nodes: Node[] = [];
  for (const n of view.nodes.values()) {
    if (names.has(n.name)) {
      if (limited) nodes.push({ ...n, deleting: true });
      continue;
    }
    const r = residual?.nodes.get(n.name) ?? n;
    if (least === undefined || hasRoom(r.allocatable, least)) nodes.push(r);
  }
  const plan = provision(kernel, {
    pods,
    nodes,
    nodePools: input.nodePools,
    ...(input.daemonSets === undefined ? {} : { daemonSets: input.daemonSets }),
    instanceTypes: catalog.pruned,
    now: input.now,
    options: {
      improve: effort !== "bound",
      patterns: effort !== "search",
      claimName: (pool, i) => `${SIM_PREFIX}${pool}-${i}`,
      exactBound: false,
      // Only the bound simulation's bound is read (plan-disruption's lowerBound); search attempts skip it.
      bound: effort === "bound",
    },
  });
  return {
    removed: remove,
    evicted,
    claims: plan.nodeClaims,
    placements: new Map(plan.placements.map((p) => [p.pod, p.node])),
    unschedulable: plan.unschedulable,
    removedPerHour,
    newPerHour: plan.cost.newPerHour,
    lowerBoundPerHour: plan.cost.lowerBoundPerHour,
  };
}

/** Per resource, the least any of `pods` requests (a resource some pod does not request counts 0). */
function leastRequests(pods: readonly Pod[]): Record<string, number> {
  const out: Record<string, number> = { ...(pods[0] as Pod).requests };
  for (const p of pods) for (const k in out) out[k] = Math.min(out[k] as number, p.requests[k] ?? 0);
  return out;
}

function hasRoom(
  allocatable: Readonly<Record<string, number>>,
  need: Readonly<Record<string, number>>,
): boolean {
  for (const k in need)
    if ((need[k] as number) > 0 && (allocatable[k] ?? 0) < (need[k] as number)) return false;
  return true;
}

/** A view's nodes with their allocatable less what their bound pods request, and its pods by node. */
interface ResidualView {
  nodes: Map<string, Node>;
  podsOn: ReadonlyMap<string, readonly Pod[]>;
}

/** Per view (a plan simulates many times on one): computed once. */
const residuals = new WeakMap<ClusterView, ResidualView>();

function residualView(view: ClusterView): ResidualView {
  const known = residuals.get(view);
  if (known !== undefined) return known;
  const podsOn = podsByNode(view);
  const nodes = new Map<string, Node>();
  for (const n of view.nodes.values()) {
    const on = podsOn.get(n.name);
    if (on === undefined) {
      nodes.set(n.name, n);
      continue;
    }
    const allocatable: Record<string, number> = { ...n.allocatable };
    for (const p of on) {
      if (p.terminating || p.phase === "Succeeded" || p.phase === "Failed") continue;
      for (const k in p.requests) allocatable[k] = (allocatable[k] ?? 0) - (p.requests[k] as number);
    }
    for (const k in allocatable) if ((allocatable[k] as number) < 0) allocatable[k] = 0;
    nodes.set(n.name, { ...n, allocatable });
  }
  const out = { nodes, podsOn };
  residuals.set(view, out);
  return out;
}

/** The kept reason of nodes whose pods would not all find a home (the first ten, with why). */
export function wouldNotFit(sim: Simulation): KeptReason {
  return {
    code: "pods_would_not_fit",
    pods: sim.unschedulable.slice(0, 10).map((u) => ({ pod: u.pod, reason: u.reason })),
  };
}

/** The evicted pods by key (for the replacement options' fit check). */
export function evictedByKey(sim: Simulation): Map<string, Pod> {
  return new Map(sim.evicted.map((p) => [podKey(p), p]));
}
