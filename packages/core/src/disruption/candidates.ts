import { parseDurationMillis, parseNillableDurationMillis } from "../duration.ts";
import { type Node, type NodePool, type Pod, type PodDisruptionBudget, podKey } from "../model.ts";
import type { KeptReason } from "../reasons.ts";
import { pdbStatus, podsSelectedBy } from "./pdb.ts";

/**
 * Which nodes may be disrupted, and the exact reason for each that may not (SEMANTICS.md
 * "Disruption"; Karpenter pkg/controllers/disruption/types.go NewCandidate and helpers.go).
 */

/** The annotation Karpenter honours on pods and nodes. */
export const DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt";

/** Cluster facts every candidate check needs, computed once per plan. */
export interface CandidateContext {
  nowMillis: number;
  pools: ReadonlyMap<string, NodePool>;
  /** Pods by node name (bound pods only). */
  podsByNode: ReadonlyMap<string, readonly Pod[]>;
  /** The PDBs covering a pod, with their current disruptionsAllowed. */
  pdbsOf(pod: Pod): readonly { name: string; disruptionsAllowed: number }[];
  /** Nodes a pending pod has been nominated to, with that pod (`ns/name`). */
  nominated: ReadonlyMap<string, string>;
}

/** Builds the context from cluster state. */
export function candidateContext(
  pods: readonly Pod[],
  pools: readonly NodePool[],
  pdbs: readonly PodDisruptionBudget[],
  nowMillis: number,
  nominated: ReadonlyMap<string, string> = new Map(),
): CandidateContext {
  const podsByNode = new Map<string, Pod[]>();
  for (const p of pods) {
    if (p.nodeName === undefined) continue;
    const list = podsByNode.get(p.nodeName) ?? [];
    list.push(p);
    podsByNode.set(p.nodeName, list);
  }
  const pdbsByPod = new Map<Pod, { name: string; disruptionsAllowed: number }[]>();
  for (const pdb of pdbs) {
    const status = pdbStatus(pdb, pods);
    for (const p of podsSelectedBy(pdb, pods)) {
      const list = pdbsByPod.get(p) ?? [];
      list.push({ name: status.pdb, disruptionsAllowed: status.disruptionsAllowed });
      pdbsByPod.set(p, list);
    }
  }
  return {
    nowMillis,
    pools: new Map(pools.map((p) => [p.name, p])),
    podsByNode,
    pdbsOf: (pod) => pdbsByPod.get(pod) ?? [],
    nominated,
  };
}

/** Pods that need a new home when their node goes: not DaemonSet pods, not finished, not terminating. */
export function reschedulablePods(pods: readonly Pod[]): Pod[] {
  return pods.filter(isReschedulable);
}

const reschedulableLists = new WeakMap<readonly Pod[], readonly Pod[]>();
const NO_PODS: readonly Pod[] = Object.freeze([]);

/** A node's reschedulable pods in `ctx` (remembered per pod list: a context's lists never change). */
export function reschedulableOn(ctx: CandidateContext, node: string): readonly Pod[] {
  const pods = ctx.podsByNode.get(node);
  if (pods === undefined) return NO_PODS;
  let out = reschedulableLists.get(pods);
  if (out === undefined) reschedulableLists.set(pods, (out = pods.filter(isReschedulable)));
  return out;
}

/** Does a pod need a new home when its node goes? */
export function isReschedulable(p: Pod): boolean {
  return !p.daemonSet && takesRoom(p);
}

/** Does a bound pod hold its requests on its node (not terminating, not finished)? */
export function takesRoom(p: Pod): boolean {
  return !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed";
}

/**
 * Why a node cannot be disrupted gracefully at all (any method but expiration and interruption), or
 * undefined when it is a candidate.
 */
export function gracefulBlocker(node: Node, ctx: CandidateContext): KeptReason | undefined {
  if (node.nodePool === undefined || !ctx.pools.has(node.nodePool)) return { code: "not_managed" };
  if (node.deleting) return { code: "being_deleted" };
  if (node.inFlight || !node.initialized) return { code: "not_initialized" };
  const nominee = ctx.nominated.get(node.name);
  if (nominee !== undefined) return { code: "nominated", pod: nominee };
  if (node.annotations[DO_NOT_DISRUPT] === "true") return { code: "do_not_disrupt_node" };
  const pods = reschedulableOn(ctx, node.name);
  for (const pod of pods) {
    const blocked = doNotDisruptUntil(pod, ctx.nowMillis);
    if (blocked !== undefined) {
      const reason: KeptReason = { code: "do_not_disrupt_pod", pod: podKey(pod) };
      if (blocked !== "forever") reason.until = blocked;
      return reason;
    }
  }
  for (const pod of pods) {
    const covering = ctx.pdbsOf(pod);
    if (covering.length > 1)
      return { code: "pod_under_multiple_pdbs", pod: podKey(pod), pdbs: covering.map((p) => p.name).sort() };
    const only = covering[0];
    if (only !== undefined && only.disruptionsAllowed === 0)
      return { code: "pdb_blocks_eviction", pdb: only.name, pod: podKey(pod) };
  }
  return undefined;
}

/** Why a graceful candidate still may not be consolidated (policy, consolidateAfter), or undefined. */
export function consolidationBlocker(node: Node, ctx: CandidateContext): KeptReason | undefined {
  const pool = ctx.pools.get(node.nodePool ?? "");
  if (pool === undefined) return { code: "not_managed" };
  const after = parseNillableDurationMillis(pool.disruption.consolidateAfter);
  if (!after.ok || after.millis === null) return { code: "consolidation_disabled", nodePool: pool.name };
  const empty = reschedulableOn(ctx, node.name).length === 0;
  if (!empty && pool.disruption.consolidationPolicy === "WhenEmpty")
    return { code: "policy_when_empty", nodePool: pool.name };
  const lastEvent = Date.parse(node.lastPodEventAt ?? node.createdAt);
  if (ctx.nowMillis - lastEvent < after.millis) {
    return {
      code: "consolidate_after_pending",
      consolidatableAt: new Date(lastEvent + after.millis).toISOString(),
    };
  }
  return undefined;
}

/**
 * A pod's do-not-disrupt: "true" blocks forever; a duration blocks until pod start + duration
 * (Karpenter v1.1+); anything else is ignored. Returns when the block ends, "forever", or undefined.
 */
export function doNotDisruptUntil(pod: Pod, nowMillis: number): string | "forever" | undefined {
  const value = pod.annotations[DO_NOT_DISRUPT];
  if (value === undefined) return undefined;
  if (value === "true") return "forever";
  const millis = parseDurationMillis(value);
  if (millis === null) return undefined;
  const start = Date.parse(pod.startTime ?? pod.creationTimestamp);
  const end = start + millis;
  return end > nowMillis ? new Date(end).toISOString() : undefined;
}

/** Karpenter v1.14's eviction cost of a pod: clamp(1 + deletionCost/2^27 + priority/2^25, -10, 10). */
export function evictionCost(pod: Pod): number {
  const deletionCost = Number(pod.annotations["controller.kubernetes.io/pod-deletion-cost"] ?? 0);
  const cost = 1 + (Number.isFinite(deletionCost) ? deletionCost : 0) / 2 ** 27 + pod.priority / 2 ** 25;
  return Math.min(10, Math.max(-10, cost));
}

/** RescheduleCost = 1 + sum of max(0, EvictionCost) over reschedulable pods. */
export function rescheduleCost(pods: readonly Pod[]): number {
  let cost = 1;
  for (const p of reschedulablePods(pods)) cost += Math.max(0, evictionCost(p));
  return cost;
}
