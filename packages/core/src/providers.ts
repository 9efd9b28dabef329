import type { InstanceType, Node, NodePool } from "./model.ts";
import type { PlannedNodeClaim } from "./plan.ts";

/**
 * The narrow interfaces a cloud provider implements (Karpenter's CloudProvider, split). core defines
 * them and never imports a provider; hosts (CLI, controller) wire a provider in.
 */

/** Instance types with offerings and prices for a NodePool and its node class. */
export interface CatalogSource<NodeClass = unknown> {
  /** Allocatable may depend on the node class (AMI family, kubelet settings, root volume). */
  instanceTypes(nodePool: NodePool, nodeClass: NodeClass | undefined): Promise<InstanceType[]>;
}

/** An offering that failed to launch and should not be tried again for a while. */
export interface UnavailableOffering {
  instanceType: string;
  zone: string;
  capacityType: string;
  /** Why (for example InsufficientInstanceCapacity). */
  reason: string;
  /** ISO time until which the offering is considered unavailable. */
  until: string;
}

/** The result of a launch: the cloud instance behind a NodeClaim. */
export interface LaunchedInstance {
  providerID: string;
  instanceType: string;
  zone: string;
  capacityType: string;
  /** Cloud-specific identifiers worth recording on the NodeClaim status. */
  imageID?: string;
  /** Annotations the provider stamps on the NodeClaim (AWS: the EC2NodeClass hash and its version). */
  annotations?: Record<string, string>;
  /** Labels the provider stamps on the NodeClaim (AWS: the capacity reservation id and type). */
  labels?: Record<string, string>;
}

/**
 * Thrown by `Launcher.create` when the launch definitely failed: no instance exists and none will
 * (no capacity, a rejected request). Any other error leaves the outcome unknown (a lost response, a
 * timeout): the host then keeps the claim and retries with the same name and uid, which an
 * idempotent launch turns into the instance it may already have started.
 */
export class LaunchFailedError extends Error {
  /** Checked by `isLaunchFailed` (an error from another copy of this module still counts). */
  readonly launchFailed = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LaunchFailedError";
  }
}

/** True for a `LaunchFailedError` (a definite failure): false means the outcome is unknown. */
export function isLaunchFailed(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { launchFailed?: unknown }).launchFailed === true;
}

/** An instance the provider runs for this cluster's NodePools (what garbage collection compares with NodeClaims). */
export interface CloudInstance {
  providerID: string;
  /** The NodeClaim the instance was launched for (AWS: its karpenter.sh/nodeclaim tag). */
  nodeClaim?: string;
  nodePool?: string;
  /** RFC 3339. */
  launchedAt: string;
}

/** Creates and deletes the instance behind a NodeClaim. */
export interface Launcher<NodeClass = unknown> {
  /**
   * `uid` is the NodeClaim object's, when one exists: with the name it makes the launch idempotent.
   * Throws `LaunchFailedError` when no instance was launched; any other error means "unknown".
   */
  create(
    claim: PlannedNodeClaim & { uid?: string },
    nodePool: NodePool,
    nodeClass: NodeClass | undefined,
  ): Promise<LaunchedInstance>;
  /** `labels` are the node's (AWS: the capacity reservation to give an instance back to). */
  delete(node: {
    name: string;
    providerID: string;
    labels?: Readonly<Record<string, string>>;
  }): Promise<void>;
  /** Offerings recently found unavailable; a catalog source honours them. */
  unavailableOfferings(): UnavailableOffering[];
  /**
   * Every pending or running instance launched for this cluster's NodePools, whether or not a
   * NodeClaim still names it (for garbage collection of leaked instances). Optional.
   */
  instances?(): Promise<CloudInstance[]>;
}

/** Why a node has drifted from its NodePool or node class. */
export interface DriftReason {
  code: string;
  message: string;
}

/** Provider drift detection (node class hash, AMI, subnets, security groups). */
export interface DriftDetector<NodeClass = unknown> {
  isDrifted(node: Node, nodePool: NodePool, nodeClass: NodeClass | undefined): DriftReason | undefined;
}

/**
 * The instance types with the listed offerings marked unavailable (any catalog: a file, the offline
 * table, the live catalog). Offerings not listed are kept as they were.
 */
export function withUnavailableOfferings(
  instanceTypes: readonly InstanceType[],
  unavailable: readonly UnavailableOffering[],
): InstanceType[] {
  if (unavailable.length === 0) return [...instanceTypes];
  const key = (instanceType: string, zone: string, capacityType: string) =>
    `${instanceType}/${zone}/${capacityType}`;
  const marked = new Set(unavailable.map((u) => key(u.instanceType, u.zone, u.capacityType)));
  return instanceTypes.map((t) =>
    t.offerings.some((o) => marked.has(key(t.name, o.zone, o.capacityType)))
      ? {
          ...t,
          offerings: t.offerings.map((o) =>
            marked.has(key(t.name, o.zone, o.capacityType)) ? { ...o, available: false } : o,
          ),
        }
      : t,
  );
}
