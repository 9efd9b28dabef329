import {
  type CapacityType,
  type Costs,
  type DecisionPod,
  DISRUPTED_TAINT_KEY,
  deepFreeze,
  LABEL_CAPACITY_TYPE,
  LABEL_HOSTNAME,
  LABEL_INSTANCE_TYPE,
  LABEL_NODEPOOL,
  LABEL_TOPOLOGY_ZONE,
  type Node,
  type PlannedNodeClaim,
  type Pod,
  type Taint,
} from "@nodeplan/core";
import type { App } from "./workloads.ts";

/**
 * The simulated cluster's objects. Nodes and pods are mutable records the simulation owns; what the
 * decision step and the checks see are core model objects made from them (`nodeModel`, `podModel`),
 * cached until the record changes.
 */

/** Where a node is in its life. */
export type NodeState =
  /** The NodeClaim exists; the launch call has not returned. */
  | "launching"
  /** The instance runs (billed) but no Node has registered: in-flight capacity. */
  | "booting"
  /** The Node registered; not Ready yet. */
  | "registered"
  /** Ready and initialized: kube-scheduler binds pods here. */
  | "ready"
  /** Deleted: its instance is terminating (still billed until it is gone). */
  | "terminating";

/** A node (or a NodeClaim still launching). */
export interface SimNode {
  name: string;
  nodePool: string | undefined;
  instanceType: string;
  zone: string;
  capacityType: CapacityType;
  pricePerHour: number;
  /** What `pricePerHour` is made of (instance, storage, network, burstable credits, fees), per hour. */
  costs: Costs;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  taints: Taint[];
  capacity: Record<string, number>;
  allocatable: Record<string, number>;
  providerID: string;
  /** The image it booted (drift compares it with its node class's current one). */
  image: string;
  state: NodeState;
  /** The claim it was launched for (absent for nodes of the manifests). */
  claim: PlannedNodeClaim | undefined;
  createdMs: number;
  /** When its instance started running (billing starts), if it did. */
  billedSinceMs: number | undefined;
  unschedulable: boolean;
  /** Requests of the pods bound to it that have not terminated yet. */
  requested: Record<string, number>;
  /** The same in cpu and memory with kube-scheduler's defaults for requests of 0 (100m, 200Mi). */
  nonZero: { cpuMillis: number; memoryBytes: number };
  pods: Set<SimPod>;
  lastPodEventMs: number;
  expireAfter: string | undefined;
  /** A failed launch not yet reported to the controller. */
  launchFailure:
    | {
        code: string;
        message: string;
        unavailable: { instanceType: string; zone: string; capacityType: string }[];
        atMs: number;
      }
    | undefined;
  /** A spot interruption notice's deadline, when one came. */
  interruptionDeadlineMs: number | undefined;
  /** Changes whenever labels, taints or schedulability change (kube-scheduler's cached filters key on it). */
  version: number;
  model: Node | undefined;
  /** Position in the scheduler's zone-interleaved node list. */
  order: number;
}

/** Where a pod is in its life. */
export type PodState = "pending" | "starting" | "running" | "ready" | "terminating" | "gone";

/** A pod. */
export interface SimPod {
  /** Creation sequence number: unique for the run (a recreated StatefulSet pod is a new one). */
  seq: number;
  key: string;
  namespace: string;
  name: string;
  app: App | undefined;
  /** The workload revision it was made from (its pod-template-hash). */
  revision: string | undefined;
  /** StatefulSet ordinal. */
  ordinal: number | undefined;
  /** The DaemonSet it belongs to. */
  daemonSet: string | undefined;
  /** The scheduling fields (shared with the pod's template: replicas share these objects). */
  base: Pod;
  state: PodState;
  node: SimNode | undefined;
  createdMs: number;
  /** When it last became pending (created, or not yet bound). */
  pendingSinceMs: number;
  boundMs: number | undefined;
  readyMs: number | undefined;
  nominatedNode: string | undefined;
  /** Evicted (voluntary) rather than deleted by its controller or killed. */
  evicted: boolean;
  /** Set while the model object below is current. */
  model: DecisionPod | undefined;
  /** kube-scheduler: the cluster version at which it last failed to fit anywhere. */
  failedAtVersion: number;
}

/** The node as core's model has it (cached until the node changes). */
export function nodeModel(n: SimNode): Node {
  if (n.model !== undefined) return n.model;
  const inFlight = n.state === "launching" || n.state === "booting";
  // Absent fields are left out, not deleted: a deleted property turns the object into a slow dictionary.
  const model: Node = {
    name: n.name,
    providerID: n.providerID,
    ...(n.claim === undefined ? {} : { nodeClaim: n.name }),
    labels: n.labels,
    annotations: n.annotations,
    taints: n.taints,
    capacity: n.capacity,
    // Until its DaemonSet pods are bound, a launched node's room is its type's less their overhead.
    allocatable:
      n.claim !== undefined && n.state !== "ready" && n.state !== "terminating"
        ? minus(n.allocatable, n.claim.daemonSetOverhead)
        : n.allocatable,
    instanceType: n.instanceType,
    zone: n.zone,
    capacityType: n.capacityType,
    ...(n.nodePool === undefined ? {} : { nodePool: n.nodePool }),
    pricePerHour: n.pricePerHour,
    createdAt: new Date(n.createdMs).toISOString(),
    initialized: n.state === "ready" || n.state === "terminating",
    ready: n.state === "ready",
    deleting: n.state === "terminating",
    unschedulable: n.unschedulable,
    inFlight,
    lastPodEventAt: new Date(n.lastPodEventMs).toISOString(),
    ...(n.expireAfter === undefined ? {} : { expireAfter: n.expireAfter }),
  };
  n.model = deepFreeze(model);
  return model;
}

/**
 * The pod as the decision step sees it. The model's phase is Running only once the pod is Ready: the
 * model has no readiness, and PDBs count Ready pods as healthy.
 */
export function podModel(p: SimPod): DecisionPod {
  if (p.model !== undefined) return p.model;
  const bound = p.node !== undefined;
  // An unbound pod has no nodeName key, left out rather than deleted (a deleted property turns the
  // object into a slow dictionary: every read of a pending pod would pay for it).
  const { nodeName: _nodeName, ...base } = p.base;
  const model: DecisionPod = {
    ...base,
    ...(p.node === undefined ? {} : { nodeName: p.node.name }),
    phase: p.state === "ready" ? "Running" : "Pending",
    provisionable: !bound && p.daemonSet === undefined && p.state === "pending",
    terminating: p.state === "terminating",
  };
  if (p.readyMs !== undefined) model.startTime = new Date(p.readyMs).toISOString();
  if (!bound && p.state === "pending") model.pendingSince = new Date(p.pendingSinceMs).toISOString();
  if (p.nominatedNode !== undefined && !bound) model.nominatedNode = p.nominatedNode;
  p.model = deepFreeze(model);
  return model;
}

/** Labels a node launched from a claim carries. */
export function claimLabels(
  claim: PlannedNodeClaim,
  typeLabels: Readonly<Record<string, string>>,
  poolLabels: Readonly<Record<string, string>>,
  instanceType: string,
  zone: string,
  capacityType: string,
): Record<string, string> {
  const labels: Record<string, string> = { ...typeLabels, ...poolLabels };
  for (const r of claim.requirements)
    if (r.operator === "In" && r.values.length === 1) labels[r.key] = r.values[0] as string;
  Object.assign(labels, claim.labels ?? {}, {
    [LABEL_INSTANCE_TYPE]: instanceType,
    [LABEL_TOPOLOGY_ZONE]: zone,
    [LABEL_CAPACITY_TYPE]: capacityType,
    [LABEL_NODEPOOL]: claim.nodePool,
    [LABEL_HOSTNAME]: claim.name,
    "karpenter.sh/registered": "true",
    "karpenter.sh/initialized": "true",
  });
  return labels;
}

/** Is the node carrying the disruption taint? */
export function isDisrupted(n: SimNode): boolean {
  return n.taints.some((t) => t.key === DISRUPTED_TAINT_KEY);
}

/** a += b, key by key. */
export function addInto(a: Record<string, number>, b: Readonly<Record<string, number>>, sign = 1): void {
  for (const k in b) a[k] = (a[k] ?? 0) + sign * (b[k] as number);
}

/** Does `requests` fit in what `allocatable` leaves after `used`? */
export function fitsIn(
  requests: Readonly<Record<string, number>>,
  used: Readonly<Record<string, number>>,
  allocatable: Readonly<Record<string, number>>,
): boolean {
  for (const k in requests) {
    const r = requests[k] as number;
    if (r > 0 && (used[k] ?? 0) + r > (allocatable[k] ?? 0)) return false;
  }
  return true;
}

/** kube-scheduler's defaults for a container that requests no cpu or memory (scoring only). */
export const NON_ZERO_CPU_MILLIS = 100;
export const NON_ZERO_MEMORY_BYTES = 200 * 1024 * 1024;

/** A pod's cpu and memory requests with kube-scheduler's non-zero defaults. */
export function nonZeroRequests(p: Pod): { cpuMillis: number; memoryBytes: number } {
  const cpu = p.requests.cpuMillis ?? 0;
  const mem = p.requests.memoryBytes ?? 0;
  return {
    cpuMillis: cpu > 0 ? cpu : NON_ZERO_CPU_MILLIS,
    memoryBytes: mem > 0 ? mem : NON_ZERO_MEMORY_BYTES,
  };
}

function minus(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const k in b) out[k] = Math.max(0, (out[k] ?? 0) - (b[k] as number));
  return out;
}
