import { cmp } from "../compare.ts";
import { type Node, type NodePool, type Pod, podKey } from "../model.ts";
import type { DisruptionCommand, PlannedNodeClaim } from "../plan.ts";
import {
  LABEL_CAPACITY_TYPE,
  LABEL_HOSTNAME,
  LABEL_INSTANCE_TYPE,
  LABEL_NODEPOOL,
  LABEL_TOPOLOGY_ZONE,
} from "../well-known-labels.ts";
import { reschedulablePods } from "./candidates.ts";
import type { DisruptionCatalog } from "./catalog.ts";
import { NODEPOOL_HASH, NODEPOOL_HASH_VERSION } from "./drift.ts";

/**
 * The cluster between disruption commands: nodes by name (in name order) and every pod. A command is
 * carried out by `applyCommand`, which returns the cluster after it: the planner uses it between the
 * commands of a plan, and the consolidation loop between passes, so both see the same cluster.
 */
export interface ClusterView {
  readonly nodes: ReadonlyMap<string, Node>;
  readonly pods: readonly Pod[];
}

/** A view of the input's nodes (sorted by name) and pods. */
export function clusterView(nodes: readonly Node[], pods: readonly Pod[]): ClusterView {
  return { nodes: new Map([...nodes].sort((a, b) => cmp(a.name, b.name)).map((n) => [n.name, n])), pods };
}

/** Pods by the node they are bound to (computed once per view: a view never changes). */
export function podsByNode(view: ClusterView): ReadonlyMap<string, readonly Pod[]> {
  const known = byNode.get(view);
  if (known !== undefined) return known;
  const out = new Map<string, Pod[]>();
  for (const p of view.pods) {
    if (p.nodeName === undefined) continue;
    const list = out.get(p.nodeName);
    if (list === undefined) out.set(p.nodeName, [p]);
    else list.push(p);
  }
  byNode.set(view, out);
  return out;
}

const byNode = new WeakMap<ClusterView, Map<string, Pod[]>>();

/**
 * The cluster once `command` has completed at `now`: its candidates gone, its replacements running as
 * `replacements` (the nodes they became, same order), each evicted pod running where the command placed
 * it. An evicted pod with no placement (a forceful command that could not place it) is pending again;
 * DaemonSet and finished pods go with their node. Nodes that received pods had a pod event now.
 */
export function applyCommand(
  view: ClusterView,
  command: Pick<DisruptionCommand, "candidates" | "placements">,
  replacements: readonly Node[],
  now: string,
): ClusterView {
  const removed = new Set(command.candidates);
  const placed = new Map((command.placements ?? []).map((p) => [p.pod, p.node]));
  const nodes = new Map(view.nodes);
  for (const name of removed) nodes.delete(name);
  for (const n of replacements) nodes.set(n.name, n);
  const pods: Pod[] = [];
  for (const p of view.pods) {
    if (p.nodeName === undefined || !removed.has(p.nodeName)) {
      pods.push(p);
      continue;
    }
    if (reschedulablePods([p]).length === 0) continue;
    const target = placed.get(podKey(p));
    if (target === undefined) pods.push({ ...p, nodeName: undefined, phase: "Pending", provisionable: true });
    else pods.push({ ...p, nodeName: target, phase: "Running", provisionable: false, startTime: now });
  }
  for (const target of new Set(placed.values())) {
    const n = nodes.get(target);
    if (n !== undefined && n.lastPodEventAt !== now) nodes.set(target, { ...n, lastPodEventAt: now });
  }
  return { nodes: new Map([...nodes].sort((a, b) => cmp(a[0], b[0]))), pods };
}

/** A replacement claim as the node it becomes once launched and initialized at `now`. */
export function replacementNode(
  catalog: DisruptionCatalog,
  pool: NodePool,
  claim: PlannedNodeClaim,
  now: string,
): Node {
  const it = catalog.full.get(claim.nodePool)?.get(claim.instanceType);
  const labels: Record<string, string> = { ...it?.labels, ...pool.template.labels };
  for (const r of claim.requirements)
    if (r.operator === "In" && r.values.length === 1) labels[r.key] = r.values[0] as string;
  Object.assign(labels, claim.labels, {
    [LABEL_INSTANCE_TYPE]: claim.instanceType,
    [LABEL_TOPOLOGY_ZONE]: claim.zone,
    [LABEL_CAPACITY_TYPE]: claim.capacityType,
    [LABEL_NODEPOOL]: claim.nodePool,
    [LABEL_HOSTNAME]: claim.name,
  });
  const allocatable: Record<string, number> = {};
  for (const [k, v] of Object.entries(it?.allocatable ?? {}))
    allocatable[k] = Math.max(0, v - (claim.daemonSetOverhead[k] ?? 0));
  const annotations: Record<string, string> = {};
  for (const k of [NODEPOOL_HASH, NODEPOOL_HASH_VERSION]) {
    const v = pool.annotations[k];
    if (v !== undefined) annotations[k] = v;
  }
  return {
    name: claim.name,
    nodeClaim: claim.name,
    labels,
    annotations,
    taints: pool.template.taints,
    capacity: it?.capacity ?? {},
    allocatable,
    instanceType: claim.instanceType,
    zone: claim.zone,
    capacityType: claim.capacityType,
    nodePool: claim.nodePool,
    pricePerHour: claim.pricePerHour,
    createdAt: now,
    initialized: true,
    ready: true,
    deleting: false,
    unschedulable: false,
    inFlight: false,
    lastPodEventAt: now,
    expireAfter: pool.template.expireAfter,
  };
}
