import type { CapacityType, Node, NodeSelectorRequirement, ResourceVector, Taint } from "@nodeplan/core";
import type { ObjectMeta } from "./k8s-shapes.ts";

/** A Node, already validated and with parsed resources. */
export interface NodeRecord {
  metadata: ObjectMeta;
  providerID?: string | undefined;
  taints: Taint[];
  unschedulable: boolean;
  capacity: ResourceVector;
  allocatable: ResourceVector;
  ready: boolean;
}

/** A NodeClaim, already validated and with parsed resources. */
export interface NodeClaimRecord {
  metadata: ObjectMeta;
  requirements: NodeSelectorRequirement[];
  taints: Taint[];
  providerID?: string | undefined;
  nodeName?: string | undefined;
  capacity: ResourceVector;
  allocatable: ResourceVector;
  requests: ResourceVector;
  initialized: boolean;
  ready: boolean;
  expireAfter?: string | undefined;
}

const capacityTypes: readonly CapacityType[] = ["reserved", "spot", "on-demand"];

/** EKS managed node groups label capacity as SPOT / ON_DEMAND; Karpenter as spot / on-demand. */
function capacityTypeFrom(labels: Record<string, string>): CapacityType | undefined {
  const karpenter = labels["karpenter.sh/capacity-type"];
  if (karpenter !== undefined && (capacityTypes as readonly string[]).includes(karpenter)) {
    return karpenter as CapacityType;
  }
  const eks = labels["eks.amazonaws.com/capacityType"];
  if (eks === "SPOT") return "spot";
  if (eks === "ON_DEMAND") return "on-demand";
  if (eks === "CAPACITY_BLOCK") return "reserved";
  return undefined;
}

/** A single `In` value of a requirement (what a launched NodeClaim is pinned to before its labels exist). */
function singleValue(requirements: readonly NodeSelectorRequirement[], key: string): string | undefined {
  const req = requirements.find((r) => r.key === key);
  return req?.operator === "In" && req.values.length === 1 ? req.values[0] : undefined;
}

function placement(labels: Record<string, string>, requirements: readonly NodeSelectorRequirement[]) {
  const label = (stable: string, beta: string) =>
    labels[stable] ?? labels[beta] ?? singleValue(requirements, stable);
  const out: Pick<Node, "instanceType" | "zone" | "capacityType" | "nodePool"> = {};
  const instanceType = label("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type");
  const zone = label("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone");
  const capacityType =
    capacityTypeFrom(labels) ??
    (singleValue(requirements, "karpenter.sh/capacity-type") as CapacityType | undefined);
  const nodePool = labels["karpenter.sh/nodepool"];
  if (instanceType !== undefined) out.instanceType = instanceType;
  if (zone !== undefined) out.zone = zone;
  if (capacityType !== undefined && capacityTypes.includes(capacityType)) out.capacityType = capacityType;
  if (nodePool !== undefined) out.nodePool = nodePool;
  return out;
}

/** The NodeClaim a Node belongs to, when the Node names it (owner reference, or Karpenter's label). */
function claimNamedByNode(node: NodeRecord): string | undefined {
  const owner = node.metadata.ownerReferences?.find((o) => o.kind === "NodeClaim");
  return owner?.name ?? node.metadata.labels?.["karpenter.sh/nodeclaim"];
}

/**
 * Turns Nodes and NodeClaims into model nodes. A Node and its NodeClaim (same providerID, else the
 * claim's status.nodeName or the Node's owner reference / `karpenter.sh/nodeclaim` label) become one
 * node, so capacity is never counted twice; a NodeClaim without a Node is an in-flight node. A Node
 * without the `karpenter.sh/nodepool` label is not managed (never disrupted). Prices are left to the
 * caller (they come from the catalog).
 */
export function mergeNodes(
  nodes: readonly NodeRecord[],
  claims: readonly NodeClaimRecord[],
  now: string,
): Node[] {
  const claimByProvider = new Map<string, NodeClaimRecord>();
  const claimByNodeName = new Map<string, NodeClaimRecord>();
  const claimByName = new Map<string, NodeClaimRecord>();
  for (const claim of claims) {
    if (claim.providerID !== undefined && claim.providerID !== "")
      claimByProvider.set(claim.providerID, claim);
    if (claim.nodeName !== undefined && claim.nodeName !== "") claimByNodeName.set(claim.nodeName, claim);
    claimByName.set(claim.metadata.name, claim);
  }
  const used = new Set<string>();
  const out: Node[] = [];
  for (const node of nodes) {
    const byRelation = claimNamedByNode(node);
    const claim =
      (node.providerID === undefined ? undefined : claimByProvider.get(node.providerID)) ??
      claimByNodeName.get(node.metadata.name) ??
      (byRelation === undefined ? undefined : claimByName.get(byRelation));
    if (claim !== undefined) used.add(claim.metadata.name);
    const labels = { ...(node.metadata.labels ?? {}) };
    const model: Node = {
      name: node.metadata.name,
      labels,
      annotations: { ...(node.metadata.annotations ?? {}) },
      taints: node.taints,
      capacity: node.capacity,
      allocatable: node.allocatable,
      ...placement(labels, claim?.requirements ?? []),
      createdAt: node.metadata.creationTimestamp ?? claim?.metadata.creationTimestamp ?? now,
      // Karpenter tracks initialization on the NodeClaim; a Node of no NodePool is simply in use.
      initialized:
        claim?.initialized ??
        (labels["karpenter.sh/nodepool"] === undefined || labels["karpenter.sh/initialized"] === "true"),
      ready: node.ready,
      deleting:
        node.metadata.deletionTimestamp !== undefined || claim?.metadata.deletionTimestamp !== undefined,
      unschedulable: node.unschedulable,
      inFlight: false,
    };
    if (node.providerID !== undefined) model.providerID = node.providerID;
    if (claim !== undefined) {
      model.nodeClaim = claim.metadata.name;
      if (model.nodePool === undefined && claim.metadata.labels?.["karpenter.sh/nodepool"] !== undefined) {
        model.nodePool = claim.metadata.labels["karpenter.sh/nodepool"];
      }
      if (claim.expireAfter !== undefined) model.expireAfter = claim.expireAfter;
    }
    out.push(model);
  }
  for (const claim of claims) {
    if (used.has(claim.metadata.name)) continue;
    const labels = { ...(claim.metadata.labels ?? {}) };
    // Before launch a claim has no status; what it requested is what it is guaranteed to fit.
    const allocatable = Object.keys(claim.allocatable).length > 0 ? claim.allocatable : claim.requests;
    const model: Node = {
      name: claim.metadata.name,
      nodeClaim: claim.metadata.name,
      labels,
      annotations: { ...(claim.metadata.annotations ?? {}) },
      taints: claim.taints,
      capacity: Object.keys(claim.capacity).length > 0 ? claim.capacity : allocatable,
      allocatable,
      ...placement(labels, claim.requirements),
      createdAt: claim.metadata.creationTimestamp ?? now,
      initialized: claim.initialized,
      ready: claim.ready,
      deleting: claim.metadata.deletionTimestamp !== undefined,
      unschedulable: false,
      inFlight: true,
    };
    if (claim.providerID !== undefined) model.providerID = claim.providerID;
    if (claim.expireAfter !== undefined) model.expireAfter = claim.expireAfter;
    out.push(model);
  }
  return out;
}
