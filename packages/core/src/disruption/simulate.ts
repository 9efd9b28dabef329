import type { Kernel } from "@nodeplan/solver-wasm";
import { cmp } from "../compare.ts";
import { deeplyFrozen } from "../frozen.ts";
import { type LabelSelector, type Node, type Pod, podKey } from "../model.ts";
import type { Plan, PlannedNodeClaim } from "../plan.ts";
import { isProvisionable } from "../provisioning/input.ts";
import { provision } from "../provisioning/provision.ts";
import type { KeptReason } from "../reasons.ts";
import { labelSelectorKey } from "../selectors.ts";
import { toleratesAny } from "../taints.ts";
import { LABEL_HOSTNAME } from "../well-known-labels.ts";
import { isReschedulable, takesRoom } from "./candidates.ts";
import { type DisruptionCatalog, nodePrice } from "./catalog.ts";
import type { DisruptionInput } from "./input.ts";
import { boundSelected } from "./selected.ts";
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
  /**
   * Pods that need room whatever the command does and were placed with the evicted ones: pending pods
   * and the reschedulable pods of nodes already being deleted (Karpenter's SimulateScheduling).
   */
  migrating: readonly Pod[];
  /** New claims the placed pods need (priced at their cheapest offering; launch options not yet cut). */
  claims: readonly PlannedNodeClaim[];
  /** Placed pod (`ns/name`, evicted or migrating) -> a remaining node or a claim name. */
  placements: ReadonlyMap<string, string>;
  /** Evicted pods, and pods of nodes being deleted, that found no home (pending pods may stay pending). */
  unschedulable: Plan["unschedulable"];
  removedPerHour: number;
  newPerHour: number;
  /** The kernel's proven bound on the new capacity it planned. */
  lowerBoundPerHour: number;
}

/** How a simulation treats the pods around the removed nodes' own. */
export interface SimulateOptions {
  /**
   * Pending pods and the pods of nodes already being deleted are placed too and take room first come
   * (default `holding`), as in the consolidation simulation of Karpenter (disruption/helpers.go
   * SimulateScheduling), and new capacity they need counts against the command. `holding` places those
   * that hold room on the cluster as it is (placed alone, they land on existing or in-flight nodes); those
   * that need new capacity whatever the command does are the provisioner's and take no part (Karpenter
   * counts them against every command, so nothing consolidates while any pod waits for a new node).
   * `all` places every one; `false` none (the lower bound).
   */
  migrating?: "holding" | "all" | false;
  /**
   * The removed nodes' pods may land on nodes not yet initialized (default false). Karpenter refuses a
   * consolidation whose candidates' pods would (UninitializedNodeError: the node may never come up);
   * pods of nodes already being deleted, and of forceful commands, may.
   */
  toUninitialized?: boolean;
  /** Fold pods no rule of a placed pod reads into their nodes' room (default true; tests compare with false). */
  fold?: boolean;
  /**
   * Place the pods with their preferences (default true); `false` drops them: no ScheduleAnyway
   * spread, no preferred pod (anti-)affinity or node affinity. Preferences only ever add cost
   * (Karpenter honours them and relaxes them only when pods would not schedule), so a removal that
   * cannot pay without them should not pay with them: consolidation screens with `false` and simulates
   * in full only what passes. The kernel is a heuristic, so this is not a proof: on random clusters it
   * packs about 5% dearer without the preference rounds, and none of the removals the full simulation
   * found paying was refused (simulate.test.ts measures it).
   */
  preferences?: boolean;
}

/** Does a pod state any preference (`SimulateOptions.preferences`)? */
export function hasPreferences(p: Pod): boolean {
  return (
    p.preferredNodeAffinity.length > 0 ||
    p.podAffinity.preferred.length > 0 ||
    p.podAntiAffinity.preferred.length > 0 ||
    p.topologySpreadConstraints.some((c) => c.whenUnsatisfiable === "ScheduleAnyway")
  );
}

/** The pod with only its required rules (one object per pod: provisioning caches by identity). */
function withoutPreferences(p: Pod): Pod {
  if (!hasPreferences(p)) return p;
  let out = stripped.get(p);
  if (out === undefined) stripped.set(p, (out = strip(p)));
  return out;
}

const stripped = new WeakMap<Pod, Pod>();

function strip(p: Pod): Pod {
  return {
    ...p,
    preferredNodeAffinity: [],
    podAffinity: { ...p.podAffinity, preferred: [] },
    podAntiAffinity: { ...p.podAntiAffinity, preferred: [] },
    topologySpreadConstraints: p.topologySpreadConstraints.filter(
      (c) => c.whenUnsatisfiable === "DoNotSchedule",
    ),
  };
}

/**
 * Per deeply frozen pod, its pending copies (by preferences dropped, uninitialized toleration added):
 * a search places the same pods attempt after attempt, pass after pass.
 */
const pendingVariants = new WeakMap<Pod, Pod[]>();

/** The taint a simulation puts on nodes not yet initialized: only pods that may land there tolerate it. */
const UNINITIALIZED_TAINT = { key: "nodeplan.dev/simulated-uninitialized", effect: "NoSchedule" } as const;
const UNINITIALIZED_TOLERATION = { key: UNINITIALIZED_TAINT.key, operator: "Exists" } as const;

/** Nodes a simulation fences off the evicted pods (unless `toUninitialized`): not yet initialized. */
export const isUninitialized = (n: Node) => !n.deleting && (n.inFlight || !n.initialized);

/** Does an evicted pod tolerate the fence, and so may land on nodes not yet initialized all the same? */
export function passesFence(p: Pod): boolean {
  return toleratesAny(p.tolerations, UNINITIALIZED_TAINT);
}

/**
 * Removes `remove` in simulation: their reschedulable pods become pending against the rest of the
 * cluster, which the kernel packs onto the remaining nodes and new claims (from the pruned catalog),
 * together with the pods that need room anyway (`SimulateOptions.migrating`). When a NodePool has
 * limits, the removed nodes still count against them, as in Karpenter: a replacement launches before
 * its candidates go.
 */
export function simulate(
  kernel: Kernel,
  input: DisruptionInput,
  catalog: DisruptionCatalog,
  view: ClusterView,
  remove: readonly Node[],
  effort: SimulationEffort = "search",
  opts: SimulateOptions = {},
): Simulation {
  const fold = opts.fold ?? true;
  const names = new Set(remove.map((n) => n.name));
  const residual = catalog.independentPods ? residualView(view) : undefined;
  const evicted: Pod[] = [];
  const migrating: Pod[] = [];
  // Evicted pods stay off nodes not yet initialized (a taint only the other placed pods tolerate).
  const fence = opts.toUninitialized !== true && uninitializedNodes(view).length > 0;
  const required = opts.preferences === false;
  const asPending = (pod: Pod, tolerate: boolean): Pod => {
    const variant = (required ? 2 : 0) + (tolerate ? 1 : 0);
    const lasting = deeplyFrozen(pod);
    let variants = lasting ? pendingVariants.get(pod) : undefined;
    const known = variants?.[variant];
    if (known !== undefined) return known;
    const p = required ? withoutPreferences(pod) : pod;
    const out: Pod = {
      ...p,
      nodeName: undefined,
      provisionable: true,
      phase: "Pending",
      ...(tolerate ? { tolerations: [...p.tolerations, UNINITIALIZED_TOLERATION] } : {}),
    };
    if (lasting) {
      if (variants === undefined) pendingVariants.set(pod, (variants = []));
      variants[variant] = out;
    }
    return out;
  };
  // Pods that constrain no other pod only take room: the residual nodes carry that, and the kernel
  // sees just the placed pods instead of the whole cluster. Otherwise every pod goes in, or, when
  // folding, every pod some rule of the placed pods reads (see `readBy`) and the rest as room.
  const pods: Pod[] = [];
  let folding = false;
  // Nodes running a kept pod get their room per simulation (what their kept pods request, added back to
  // the view's residual); the rest, the view's residual (all pods off).
  const hosts = new Map<string, KeptLoad>();
  // An emptiness check moves nothing: the pods around it need not be found (that is a simulation).
  const evicts =
    remove.length === 0 || remove.some((n) => podsByNode(view).get(n.name)?.some(isReschedulable));
  const around =
    opts.migrating === false || !evicts
      ? undefined
      : opts.migrating === "all"
        ? migratingPods(view)
        : holdingPods(kernel, input, catalog, view);
  if (residual !== undefined) {
    for (const n of remove)
      for (const p of residual.podsOn.get(n.name) ?? [])
        if (isReschedulable(p)) {
          evicted.push(p);
          pods.push(asPending(p, false));
        }
    for (const i of around ?? []) {
      const p = view.pods[i] as Pod;
      if (p.nodeName !== undefined && names.has(p.nodeName)) continue;
      migrating.push(p);
      pods.push(asPending(p, fence));
    }
  } else if (fold) {
    // By position: KEPT (read by a rule of a placed pod), ON_REMOVED, MIGRATING; 0 folds into room.
    const at = foldIndex(view).at;
    const moving: Pod[] = [];
    for (const n of remove)
      for (const i of at.get(n.name) ?? [])
        if (isReschedulable(view.pods[i] as Pod)) moving.push(view.pods[i] as Pod);
    for (const i of around ?? []) moving.push(view.pods[i] as Pod);
    const { mask: code, marked } = readBy(view, required ? moving.map(withoutPreferences) : moving);
    folding = true;
    for (const i of around ?? []) {
      if (code[i] === 0) marked.push(i);
      code[i] = MIGRATING;
    }
    for (const n of remove)
      for (const i of at.get(n.name) ?? []) {
        if (code[i] === 0) marked.push(i);
        code[i] = ON_REMOVED;
      }
    // Only the marked pods take part: visited in the view's order, as a scan of every pod would.
    const all = view.pods;
    for (const i of Int32Array.from(marked).sort()) {
      const c = code[i];
      const p = all[i] as Pod;
      if (c === ON_REMOVED) {
        if (isReschedulable(p)) {
          evicted.push(p);
          pods.push(asPending(p, false));
        }
      } else if (c === MIGRATING) {
        migrating.push(p);
        pods.push(asPending(p, fence));
      } else if (p.nodeName !== undefined) {
        pods.push(p);
        let load = hosts.get(p.nodeName);
        if (load === undefined) hosts.set(p.nodeName, (load = { requests: [], active: 0 }));
        if (takesRoom(p)) {
          load.requests.push(p.requests);
          load.active++;
        }
      }
    }
    releaseMask(code, marked);
  } else {
    const moves = new Uint8Array(view.pods.length);
    for (const i of around ?? []) moves[i] = 1;
    const all = view.pods;
    for (let i = 0; i < all.length; i++) {
      const p = all[i] as Pod;
      if (p.nodeName !== undefined && names.has(p.nodeName)) {
        if (isReschedulable(p)) {
          evicted.push(p);
          pods.push(asPending(p, false));
        }
      } else if (moves[i] === 1) {
        migrating.push(p);
        pods.push(asPending(p, fence));
      } else if (p.nodeName === undefined) {
        // Pending pods not placed take no part (nothing reads a pod that is neither bound nor provisionable).
        pods.push(p.provisionable ? { ...p, provisionable: false } : p);
      } else pods.push(p);
    }
  }
  let removedPerHour = 0;
  for (const n of remove) removedPerHour += nodePrice(catalog, n);
  if (evicted.length === 0 && (remove.length > 0 || migrating.length === 0))
    return {
      removed: remove,
      evicted,
      migrating: [],
      claims: [],
      placements: new Map(),
      unschedulable: [],
      removedPerHour,
      newPerHour: 0,
      lowerBoundPerHour: 0,
    };
  const limited = input.nodePools.some((p) => Object.keys(p.limits).length > 0);
  const placed = evicted.concat(migrating);
  // With residual nodes and no limits to count, a node without room for the smallest placed pod in
  // some resource can take none of them: the kernel need not see it (when folding, see `foldedNodes`).
  const least = residual !== undefined && !limited ? leastRequests(placed) : undefined;
  let nodes: Node[];
  if (folding) {
    const full = limited || !mayLeaveOutFull(input, placed) ? undefined : leastRequests(placed);
    nodes = foldedNodes(view, remove, hosts, fence, limited, full);
  } else {
    nodes = [];
    for (const n of view.nodes.values()) {
      if (names.has(n.name)) {
        if (limited) nodes.push({ ...n, deleting: true });
        continue;
      }
      const r = residual?.nodes.get(n.name) ?? n;
      if (least !== undefined && !hasRoom(r.allocatable, least)) continue;
      nodes.push(fence ? fenced(r) : r);
    }
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
      currentBreakdown: false,
    },
  });
  // A pending pod that finds no home stays pending (Karpenter's AllNonPendingPodsScheduled).
  let unschedulable = plan.unschedulable;
  if (migrating.length > 0) {
    const pending = new Set<string>();
    for (const p of migrating) if (p.nodeName === undefined) pending.add(podKey(p));
    if (pending.size > 0) unschedulable = unschedulable.filter((u) => !pending.has(u.pod));
  }
  return {
    removed: remove,
    evicted,
    migrating,
    claims: plan.nodeClaims,
    placements: new Map(plan.placements.map((p) => [p.pod, p.node])),
    unschedulable,
    removedPerHour,
    newPerHour: plan.cost.newPerHour,
    lowerBoundPerHour: plan.cost.lowerBoundPerHour,
  };
}

/** `n` as evicted pods see it: a node not yet initialized carries a taint only the other pods tolerate. */
function fenced(n: Node): Node {
  return isUninitialized(n) ? { ...n, taints: [...n.taints, UNINITIALIZED_TAINT] } : n;
}

/** A view's residual nodes in name order (fenced or not), and each name's position. */
interface BaseNodes {
  nodes: readonly Node[];
  at: ReadonlyMap<string, number>;
  /** Each node's kind (`kindOf`) as a number, and how many kinds there are. */
  kind: Int32Array;
  kinds: number;
}

const baseNodes = new WeakMap<ClusterView, { plain?: BaseNodes; fenced?: BaseNodes }>();

function baseOf(view: ClusterView, fence: boolean): BaseNodes {
  let both = baseNodes.get(view);
  if (both === undefined) baseNodes.set(view, (both = {}));
  const key = fence ? "fenced" : "plain";
  let base = both[key];
  if (base === undefined) {
    const residual = residualView(view).nodes;
    const nodes: Node[] = [];
    const at = new Map<string, number>();
    const kind = new Int32Array(view.nodes.size);
    const ids = new Map<string, number>();
    for (const n of view.nodes.values()) {
      const r = residual.get(n.name) ?? n;
      const node = fence ? fenced(r) : r;
      const k = kindOf(node);
      let id = ids.get(k);
      if (id === undefined) ids.set(k, (id = ids.size));
      kind[nodes.length] = id;
      at.set(n.name, nodes.length);
      nodes.push(node);
    }
    both[key] = base = { nodes, at, kind, kinds: ids.size };
  }
  return base;
}

/**
 * The nodes a folding simulation packs onto, in name order: the view's residual nodes, hosts of kept
 * pods with their own room, the removed nodes left out (or kept as deleting when NodePool limits count).
 * With `least` (see `mayLeaveOutFull`), a node that hosts no kept pod and has less room than the least
 * any placed pod requests in some resource takes none of them: it is left out unless no other node left
 * in is of its kind (`kindOf`), which keeps every topology domain and taint provisioning reads. On a
 * packed cluster that is most nodes (simulate.test.ts compares the plans with simulating every pod), so
 * the nodes with room are found once per view and `least` (`roomSplit`), and a simulation touches only
 * its removed nodes, its hosts and what it keeps. Exported for its test.
 */
export function foldedNodes(
  view: ClusterView,
  remove: readonly Node[],
  hosts: ReadonlyMap<string, KeptLoad>,
  fence: boolean,
  limited: boolean,
  least: Readonly<Record<string, number>> | undefined,
): Node[] {
  const base = baseOf(view, fence);
  const hosted = (name: string): Node => {
    const r = roomFor(view, view.nodes.get(name) as Node, hosts.get(name) as KeptLoad);
    return fence ? fenced(r) : r;
  };
  // NodePool limits count every node, removed ones too (as deleting): nothing is left out then.
  if (least === undefined || limited) {
    const out: (Node | undefined)[] = base.nodes.slice();
    for (const name of hosts.keys()) {
      const i = base.at.get(name);
      if (i !== undefined) out[i] = hosted(name);
    }
    for (const n of remove) {
      const i = base.at.get(n.name);
      if (i !== undefined)
        out[i] = limited ? { ...(view.nodes.get(n.name) as Node), deleting: true } : undefined;
    }
    return limited ? (out as Node[]) : out.filter((n): n is Node => n !== undefined);
  }
  // Left out: removed nodes. A kind stays in through a node with room left in or a host; a kind with
  // neither keeps its first full node left in (as when every node is walked in name order).
  const split = roomSplit(base, least);
  const removed = new Set<number>();
  let lost: Map<number, number> | undefined;
  for (const n of remove) {
    const i = base.at.get(n.name);
    if (i === undefined) continue;
    removed.add(i);
    if (split.roomy[i] === 1) {
      const k = base.kind[i] as number;
      lost ??= new Map();
      lost.set(k, (lost.get(k) ?? 0) + 1);
    }
  }
  const extra: number[] = [];
  const hostKinds = new Set<number>();
  for (const name of hosts.keys()) {
    const i = base.at.get(name);
    if (i === undefined || removed.has(i)) continue;
    hostKinds.add(base.kind[i] as number);
    if (split.roomy[i] === 0) extra.push(i);
  }
  const firstLeftIn = (k: number) => {
    for (const i of split.fullOfKind[k] ?? []) if (!removed.has(i)) return i;
    return undefined;
  };
  for (const k of split.bare)
    if (!hostKinds.has(k)) {
      const i = firstLeftIn(k);
      if (i !== undefined) extra.push(i);
    }
  for (const [k, count] of lost ?? [])
    if (count === split.roomyOfKind[k] && !hostKinds.has(k)) {
      const i = firstLeftIn(k);
      if (i !== undefined) extra.push(i);
    }
  // Hosts with room are among the roomy positions already: both lists in name order, merged.
  extra.sort((a, b) => a - b);
  const out: Node[] = [];
  const take = (i: number) => {
    if (removed.has(i)) return;
    const n = base.nodes[i] as Node;
    out.push(hosts.has(n.name) ? hosted(n.name) : n);
  };
  let x = 0;
  for (const i of split.indexes) {
    while (x < extra.length && (extra[x] as number) < i) take(extra[x++] as number);
    take(i);
  }
  while (x < extra.length) take(extra[x++] as number);
  return out;
}

/**
 * A view's base nodes split by whether they have room for `least` (see `foldedNodes`): the positions
 * with room, in name order, and per kind how many have room and the positions without room.
 */
interface RoomSplit {
  /** Per position: 1 when the node has room. */
  roomy: Uint8Array;
  indexes: Int32Array;
  roomyOfKind: Int32Array;
  fullOfKind: (number[] | undefined)[];
  /** Kinds with no node with room, in order. */
  bare: number[];
}

const roomSplits = new WeakMap<BaseNodes, Map<string, RoomSplit>>();

function roomSplit(base: BaseNodes, least: Readonly<Record<string, number>>): RoomSplit {
  let byLeast = roomSplits.get(base);
  if (byLeast === undefined) roomSplits.set(base, (byLeast = new Map()));
  let key = "";
  for (const k in least) key += `${k}=${least[k]},`;
  let split = byLeast.get(key);
  if (split === undefined) {
    const roomy = new Uint8Array(base.nodes.length);
    const indexes: number[] = [];
    const roomyOfKind = new Int32Array(base.kinds);
    const fullOfKind: (number[] | undefined)[] = [];
    for (let i = 0; i < base.nodes.length; i++) {
      const k = base.kind[i] as number;
      if (hasRoom((base.nodes[i] as Node).allocatable, least)) {
        roomy[i] = 1;
        indexes.push(i);
        roomyOfKind[k] = (roomyOfKind[k] as number) + 1;
      } else (fullOfKind[k] ??= []).push(i);
    }
    const bare: number[] = [];
    for (let k = 0; k < base.kinds; k++) if (roomyOfKind[k] === 0) bare.push(k);
    split = { roomy, indexes: Int32Array.from(indexes), roomyOfKind, fullOfKind, bare };
    byLeast.set(key, split);
  }
  return split;
}

/**
 * Whether nodes without room may be left out (`foldedNodes`): no NodePool limit counts them (the caller
 * checks), no PreferNoSchedule taint is tolerated by relaxation (its list reads every node), and no
 * placed pod reads a node's hostname (a hostname spread makes every node a domain; a node selector,
 * affinity or volume on the hostname tells nodes of one kind apart).
 */
function mayLeaveOutFull(input: DisruptionInput, placed: readonly Pod[]): boolean {
  if (input.nodePools.some((p) => p.template.taints.some((t) => t.effect === "PreferNoSchedule")))
    return false;
  const names = (terms: readonly { matchExpressions: readonly { key: string }[] }[]) =>
    terms.some((t) => t.matchExpressions.some((e) => e.key === LABEL_HOSTNAME));
  return !placed.some(
    (p) =>
      p.topologySpreadConstraints.some((c) => c.topologyKey === LABEL_HOSTNAME) ||
      p.nodeSelector[LABEL_HOSTNAME] !== undefined ||
      names(p.requiredNodeAffinity) ||
      names(p.preferredNodeAffinity.map((w) => w.preference)) ||
      p.volumeRequirements.some((r) => r.key === LABEL_HOSTNAME),
  );
}

/**
 * A node's kind: its labels but the hostname, and its taints. Nodes of one kind are alike to every
 * constraint that does not name a hostname: they accept the same pods and make the same domains.
 * Remembered across views when labels and taints are deeply frozen (a view's base is built once).
 */
function kindOf(n: Node): string {
  const lasting = deeplyFrozen(n.labels) && deeplyFrozen(n.taints);
  let kind = lasting ? lastingKinds.get(n.labels)?.get(n.taints) : undefined;
  if (kind === undefined) {
    const labels = Object.entries(n.labels)
      .filter(([k]) => k !== LABEL_HOSTNAME)
      .sort((a, b) => cmp(a[0], b[0]));
    kind = JSON.stringify([labels, n.taints]);
    if (lasting) {
      let byTaints = lastingKinds.get(n.labels);
      if (byTaints === undefined) lastingKinds.set(n.labels, (byTaints = new WeakMap()));
      byTaints.set(n.taints, kind);
    }
  }
  return kind;
}

const lastingKinds = new WeakMap<object, WeakMap<object, string>>();

/** Codes of a folding simulation's position mask (`readBy` marks KEPT). */
const KEPT = 1;
const ON_REMOVED = 2;
const MIGRATING = 3;

/** Per view: nodes not yet initialized. */
const uninitialized = new WeakMap<ClusterView, Node[]>();

export function uninitializedNodes(view: ClusterView): Node[] {
  let out = uninitialized.get(view);
  if (out === undefined) {
    out = [];
    for (const n of view.nodes.values()) if (isUninitialized(n)) out.push(n);
    uninitialized.set(view, out);
  }
  return out;
}

/** Per view: the migrating pods (by position) that a simulation of them alone puts on nodes the view has. */
const holding = new WeakMap<ClusterView, number[]>();

function holdingPods(
  kernel: Kernel,
  input: DisruptionInput,
  catalog: DisruptionCatalog,
  view: ClusterView,
): number[] {
  let out = holding.get(view);
  if (out !== undefined) return out;
  const all = migratingPods(view);
  if (all.length === 0) out = all;
  else {
    const sim = simulate(kernel, input, catalog, view, [], "search", { migrating: "all" });
    out = all.filter((i) => {
      const to = sim.placements.get(podKey(view.pods[i] as Pod));
      return to !== undefined && view.nodes.has(to);
    });
  }
  holding.set(view, out);
  return out;
}

/** Per view, by position in its pods: pending pods the provisioner serves, and pods of nodes being deleted that must move. */
const migratingIndex = new WeakMap<ClusterView, number[]>();

function migratingPods(view: ClusterView): number[] {
  let out = migratingIndex.get(view);
  if (out === undefined) {
    out = [];
    for (let i = 0; i < view.pods.length; i++) {
      const p = view.pods[i] as Pod;
      if (p.nodeName === undefined) {
        if (isProvisionable(p)) out.push(i);
      } else if (view.nodes.get(p.nodeName)?.deleting === true && isReschedulable(p)) out.push(i);
    }
    migratingIndex.set(view, out);
  }
  return out;
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
    if (!podsOn.has(n.name)) {
      nodes.set(n.name, n);
      continue;
    }
    const load = loadOf(view, n);
    if (load.residual === undefined) {
      const allocatable = { ...load.less };
      for (const k in allocatable) if ((allocatable[k] as number) < 0) allocatable[k] = 0;
      load.residual = { ...n, allocatable };
    }
    nodes.set(n.name, load.residual);
  }
  const out = { nodes, podsOn };
  residuals.set(view, out);
  return out;
}

/**
 * The bound pods provisioning may read while it places `moving`, as a mask over the view's pods (and
 * the positions it marks): those
 * any of their spreads or pod (anti-)affinity terms, required or preferred, select (by the term's own
 * selector, in any namespace: a superset of what the term's namespaces, matchLabelKeys and
 * mismatchLabelKeys select), and every pod whose required anti-affinity or host ports constrain
 * others. Every other bound pod only takes room on its node: folding it into the node's allocatable
 * leaves the plan exactly as it was (simulate.test.ts checks this against simulating every pod).
 */
function readBy(view: ClusterView, moving: readonly Pod[]): { mask: Uint8Array; marked: number[] } {
  const index = foldIndex(view);
  let mask = spareMask;
  spareMask = undefined;
  if (mask === undefined || mask.length < view.pods.length) mask = new Uint8Array(view.pods.length);
  /** The positions marked, in the order first marked. */
  const marked: number[] = [];
  const mark = (i: number) => {
    if (mask[i] === 0) {
      mask[i] = KEPT;
      marked.push(i);
    }
  };
  for (const i of index.constraining) mark(i);
  // Pods of one workload carry the same terms: each selector is marked once.
  const seen = new Set<string>();
  const add = (selector: LabelSelector | undefined) => {
    if (selector === undefined) return;
    let key = selectorKeys.get(selector);
    if (key === undefined) selectorKeys.set(selector, (key = labelSelectorKey(selector)));
    if (seen.has(key)) return;
    seen.add(key);
    let matched = index.bySelector.get(key);
    if (matched === undefined) index.bySelector.set(key, (matched = boundSelected(view, selector, key)));
    for (const i of matched) mark(i);
  };
  for (const p of moving) {
    for (const c of p.topologySpreadConstraints) add(c.labelSelector);
    for (const a of [p.podAffinity, p.podAntiAffinity]) {
      for (const t of a.required) add(t.labelSelector);
      for (const w of a.preferred) add(w.term.labelSelector);
    }
  }
  return { mask, marked };
}

const selectorKeys = new WeakMap<LabelSelector, string>();

/**
 * `readBy`'s mask between simulations, all zeros (taken while in use: a nested simulation makes its
 * own). A fresh one per attempt cleared a byte per pod of the view (20k) for the few hundred it marks.
 */
let spareMask: Uint8Array | undefined;

/** Gives a mask back, cleared at `marked` (every position a simulation set is marked). */
function releaseMask(mask: Uint8Array, marked: readonly number[]): void {
  for (const i of marked) mask[i] = 0;
  if (spareMask === undefined || spareMask.length < mask.length) spareMask = mask;
}

/** Per view, by position in its pods: pods per node, pods that constrain others, pods each selector (by key) matches. */
interface FoldIndex {
  at: Map<string, number[]>;
  constraining: number[];
  bySelector: Map<string, number[]>;
}

const foldIndexes = new WeakMap<ClusterView, FoldIndex>();

function foldIndex(view: ClusterView): FoldIndex {
  let index = foldIndexes.get(view);
  if (index === undefined) {
    index = { at: new Map(), constraining: [], bySelector: new Map() };
    for (let i = 0; i < view.pods.length; i++) {
      const p = view.pods[i] as Pod;
      if (p.nodeName === undefined) continue;
      const list = index.at.get(p.nodeName);
      if (list === undefined) index.at.set(p.nodeName, [i]);
      else list.push(i);
      if (p.podAntiAffinity.required.length > 0 || p.hostPorts.length > 0) index.constraining.push(i);
    }
    foldIndexes.set(view, index);
  }
  return index;
}

/** A host's kept pods (those provisioning reads) that take room: their requests, and how many. */
export interface KeptLoad {
  requests: Readonly<Record<string, number>>[];
  active: number;
}

/**
 * A node's allocatable less what all its active pods request (not clamped), how many there are, and the
 * node with that room (at least 0) once asked for.
 */
interface Load {
  less: Record<string, number>;
  active: number;
  residual?: Node;
}

/** Per view: each node's load. */
const loads = new WeakMap<ClusterView, Map<string, Load>>();

export function loadOf(view: ClusterView, n: Node): Load {
  let byNode = loads.get(view);
  if (byNode === undefined) loads.set(view, (byNode = new Map()));
  let load = byNode.get(n.name);
  if (load === undefined) {
    const on = podsByNode(view).get(n.name) ?? [];
    const known = lastingLoads.get(n);
    if (known !== undefined && samePods(known.pods, on)) load = known.load;
    else {
      const less: Record<string, number> = { ...n.allocatable };
      let active = 0;
      for (const p of on) {
        if (!takesRoom(p)) continue;
        active++;
        for (const k in p.requests) less[k] = (less[k] ?? 0) - (p.requests[k] as number);
      }
      load = { less, active };
      if (deeplyFrozen(n) && on.every(deeplyFrozen)) lastingLoads.set(n, { pods: on, load });
    }
    byNode.set(n.name, load);
  }
  return load;
}

/**
 * Per deeply frozen node, its load with the deeply frozen pods it was found for: the same node with the
 * same pods (the next view, the next pass of a simulation) has the same load.
 */
const lastingLoads = new WeakMap<Node, { pods: readonly Pod[]; load: Load }>();

function samePods(a: readonly Pod[], b: readonly Pod[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * `n` with the room its active bound pods outside the kept ones leave (allocatable less their requests,
 * at least 0): the kept pods go to provisioning as they are, which takes their requests off in turn.
 */
function roomFor(view: ClusterView, n: Node, kept: KeptLoad): Node {
  const all = loadOf(view, n);
  if (kept.active === all.active) return n;
  const allocatable = { ...all.less };
  for (const r of kept.requests) for (const k in r) allocatable[k] = (allocatable[k] ?? 0) + (r[k] as number);
  for (const k in allocatable) if ((allocatable[k] as number) < 0) allocatable[k] = 0;
  return { ...n, allocatable };
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
