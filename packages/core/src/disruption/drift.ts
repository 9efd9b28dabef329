import { instantMillis } from "../duration.ts";
import type { InstanceType, Node, NodePool } from "../model.ts";
import type { DriftReason } from "../providers.ts";
import { valueSatisfiesRequirement } from "../requirements.ts";
import type { DriftInput } from "./input.ts";

/** Karpenter's NodePool hash annotations (pkg/apis/v1/labels.go), stamped on the NodePool and its NodeClaims. */
export const NODEPOOL_HASH = "karpenter.sh/nodepool-hash";
export const NODEPOOL_HASH_VERSION = "karpenter.sh/nodepool-hash-version";

/**
 * Why a node has drifted from its NodePool, or undefined (Karpenter pkg/controllers/nodeclaim/
 * disruption/drift.go): static drift by hash (only when both hash versions agree: a version change
 * re-stamps instead of drifting), requirements or template labels the node's labels no longer
 * satisfy, its instance type or offering gone from the catalog, then the provider's hook.
 */
export function driftReason(
  node: Node,
  pool: NodePool,
  instanceTypes: ReadonlyMap<string, InstanceType>,
  drift: DriftInput | undefined,
): DriftReason | undefined {
  const poolHash = pool.annotations[NODEPOOL_HASH];
  const nodeHash = node.annotations[NODEPOOL_HASH];
  if (
    poolHash !== undefined &&
    nodeHash !== undefined &&
    pool.annotations[NODEPOOL_HASH_VERSION] === node.annotations[NODEPOOL_HASH_VERSION] &&
    poolHash !== nodeHash
  ) {
    return {
      code: "NodePoolDrifted",
      message: `NodePool hash ${poolHash} differs from the node's ${nodeHash}`,
    };
  }
  for (const [key, value] of Object.entries(pool.template.labels)) {
    if (node.labels[key] !== value)
      return { code: "RequirementsDrifted", message: `label ${key} is not ${value} as the NodePool sets it` };
  }
  for (const r of pool.template.requirements) {
    const value = node.labels[r.key];
    // A key the node does not carry cannot be compared (Karpenter compares the NodeClaim's labels).
    if (value === undefined && r.operator !== "Exists") continue;
    if (!valueSatisfiesRequirement(value, r))
      return {
        code: "RequirementsDrifted",
        message: `label ${r.key}=${value ?? "<absent>"} no longer satisfies ${r.key} ${r.operator} ${r.values.join(",")}`,
      };
  }
  if (node.instanceType !== undefined) {
    const it = instanceTypes.get(node.instanceType);
    if (it === undefined)
      return {
        code: "InstanceTypeNotFound",
        message: `instance type ${node.instanceType} is no longer offered`,
      };
    if (
      node.zone !== undefined &&
      node.capacityType !== undefined &&
      !it.offerings.some((o) => o.zone === node.zone && o.capacityType === node.capacityType)
    ) {
      return {
        code: "OfferingNotFound",
        message: `offering ${node.instanceType} ${node.capacityType} in ${node.zone} is no longer offered`,
      };
    }
  }
  if (drift !== undefined) {
    const ref = pool.template.nodeClassRef?.name;
    return drift.detector.isDrifted(node, pool, ref === undefined ? undefined : drift.nodeClasses?.[ref]);
  }
  return undefined;
}

/** When a node expires (createdAt + expireAfter, the NodeClaim's or else the NodePool's), or undefined for Never. */
export function expiresAt(
  node: Node,
  pool: NodePool,
  parse: (d: string) => number | null,
): number | undefined {
  const after = node.expireAfter ?? pool.template.expireAfter;
  if (after === "Never") return undefined;
  const millis = parse(after);
  return millis === null ? undefined : instantMillis(node.createdAt) + millis;
}
